import Clibgit2

/// A reference's full name: `refs/heads/main`, `refs/notes/commits`, `HEAD`.
public struct ReferenceName: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Where branches live: `refs/heads/`.
    public static let branchPrefix = "refs/heads/"

    /// The full name.
    public let fullName: String

    /// Takes `fullName` as it is, unchecked: for names the caller builds itself.
    public init(_ fullName: String) { self.fullName = fullName }

    /// The name when git accepts it as a reference name (`git check-ref-format`), else nil.
    public init?(validating fullName: String) {
        Repository.ensureLibraryReady()
        var valid: Int32 = 0
        guard git_reference_name_is_valid(&valid, fullName) == 0, valid == 1 else { return nil }
        self.fullName = fullName
    }

    /// The branch `name`: `refs/heads/main` for `main`; a full branch name stays as it is.
    public init(branch name: String) {
        fullName = name.hasPrefix(Self.branchPrefix) ? name : Self.branchPrefix + name
    }

    public init(stringLiteral fullName: String) { self.fullName = fullName }

    /// True for a branch (`refs/heads/...`).
    public var isBranch: Bool { hasPrefix(Self.branchPrefix) }

    /// `main` for `refs/heads/main`; the full name for any other reference.
    public var shortBranchName: String { isBranch ? String(fullName.dropFirst(Self.branchPrefix.count)) : fullName }

    /// The name one level down: `refs/notes/a` appending `b` is `refs/notes/a/b`.
    public func appending(_ component: String) -> ReferenceName { ReferenceName(fullName + "/" + component) }

    /// True when the full name starts with `prefix` (`refs/heads/autoresearch/`).
    public func hasPrefix(_ prefix: String) -> Bool { fullName.hasPrefix(prefix) }

    public var description: String { fullName }

    public static func < (lhs: ReferenceName, rhs: ReferenceName) -> Bool { lhs.fullName < rhs.fullName }
}
