import Clibgit2
#if canImport(Glibc)
import Glibc
#endif

/// A libgit2 failure: the operation that failed and libgit2's error code, class and message.
public struct GitError: Error, CustomStringConvertible, Sendable {
    /// What went wrong (`git_error_code`), e.g. `.notFound` for `GIT_ENOTFOUND`.
    public let code: Code
    /// The part of libgit2 that failed (`git_error_t`), e.g. `.reference` for `GIT_ERROR_REFERENCE`.
    public let errorClass: ErrorClass
    /// libgit2's message, read right after the failing call.
    public let message: String
    /// The wrapper operation that failed, for the reader.
    public let operation: String

    public var description: String {
        "\(operation): \(message) (libgit2 error \(code.rawValue) \(code.name), class \(errorClass.name))"
    }

    /// True when the failure means "no such object, ref or entry".
    public var isNotFound: Bool { code.isNotFound }
    /// True when authentication failed: every credential tried was refused, or none was found.
    public var isAuthenticationFailure: Bool {
        code == .auth || errorClass == .ssh && (message.contains("authentication") || message.contains("Permission denied"))
    }
    /// True when the remote could not be reached: connection refused, unknown host, no route, timeout.
    public var isConnectionFailure: Bool {
        let text = message.lowercased()
        return (errorClass == .net || errorClass == .os)
            && ["connect", "resolve", "unreachable", "timed out"].contains { text.contains($0) }
    }
    /// True when a push was refused because the remote's reference is not an ancestor of ours.
    public var isNonFastForward: Bool { code == .nonFastForward }
    /// True when a compare-and-swap reference update lost a race (see `Code.isModified`).
    public var isModified: Bool { code.isModified }

    /// The error libgit2 just reported for the call that returned `code`.
    init(code: Int32, operation: String) {
        self.code = Code(rawValue: code)
        self.operation = operation
        if let last = git_error_last() {
            errorClass = ErrorClass(rawValue: last.pointee.klass)
            message = last.pointee.message.map { String(cString: $0) } ?? "unknown error"
        } else {
            errorClass = .none
            message = "unknown error"
        }
    }

    /// An error the wrapper itself detects, in libgit2's terms.
    init(_ code: Code, operation: String, message: String) {
        self.code = code
        self.errorClass = .none
        self.message = message
        self.operation = operation
    }
}

extension GitError {
    /// The failure of a system call made for `operation`, with `errno`'s message.
    static func system(_ operation: String) -> GitError {
        GitError(.generic, operation: operation, message: String(cString: strerror(errno)))
    }
}

/// Throws a `GitError` for a negative libgit2 return code; returns the code otherwise.
@discardableResult
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws -> Int32 {
    if code < 0 { throw GitError(code: code, operation: operation()) }
    return code
}

/// A libgit2 enumeration mirrored in Swift: named cases, and `other` for any value this wrapper
/// does not name, so a newer libgit2 cannot make a conversion fail.
protocol Libgit2Enumeration: RawRepresentable, Equatable where RawValue == Int32 {
    /// Every case but `other`.
    static var named: [Self] { get }
    /// The case for a value this wrapper does not name.
    static func other(_ rawValue: Int32) -> Self
}

extension Libgit2Enumeration {
    /// The named case with libgit2's value `rawValue`, or `other(rawValue)`.
    static func from(_ rawValue: Int32) -> Self { named.first { $0.rawValue == rawValue } ?? other(rawValue) }

    /// The case's name for messages (`notFound`); `unknown` for an `other` value.
    var name: String { Self.named.contains(self) ? "\(self)" : "unknown" }
}
