import Clibgit2

/// A libgit2 failure: the operation that failed and libgit2's error code, class and message.
public struct GitError: Error, CustomStringConvertible, Sendable {
    /// libgit2's return code (`git_error_code`, e.g. `GIT_ENOTFOUND` = -3).
    public let code: Int32
    /// libgit2's error class (`git_error_t`, e.g. `GIT_ERROR_REFERENCE`).
    public let errorClass: Int32
    /// libgit2's message, read right after the failing call.
    public let message: String
    /// The wrapper operation that failed, for the reader.
    public let operation: String

    public var description: String {
        "\(operation): \(message) (libgit2 error \(code), class \(errorClass))"
    }

    /// True when the failure means "no such object, ref or entry".
    public var isNotFound: Bool { code == GIT_ENOTFOUND.rawValue }
    /// True when authentication failed: every credential tried was refused, or none was found.
    public var isAuthenticationFailure: Bool { code == GIT_EAUTH.rawValue || errorClass == GIT_ERROR_SSH.rawValue && message.contains("authentication") }
    /// True when a push was refused because the remote's reference is not an ancestor of ours.
    public var isNonFastForward: Bool { code == GIT_ENONFASTFORWARD.rawValue }
    /// True when a compare-and-swap reference update lost a race: the reference changed, was
    /// created meanwhile, or another writer holds its lock file right now. Retrying is right.
    public var isModified: Bool {
        code == GIT_EMODIFIED.rawValue || code == GIT_EEXISTS.rawValue || code == GIT_ELOCKED.rawValue
    }

    init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
        if let last = git_error_last() {
            errorClass = last.pointee.klass
            message = last.pointee.message.map { String(cString: $0) } ?? "unknown error"
        } else {
            errorClass = 0
            message = "unknown error"
        }
    }
}

/// Throws a `GitError` for a negative libgit2 return code; returns the code otherwise.
@discardableResult
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws -> Int32 {
    if code < 0 { throw GitError(code: code, operation: operation()) }
    return code
}
