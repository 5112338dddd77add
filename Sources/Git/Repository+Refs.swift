import Clibgit2
#if canImport(Glibc)
import Glibc
#endif

/// What a compare-and-swap reference update expects to find.
public enum RefExpectation: Sendable, Equatable {
    /// Overwrite whatever is there.
    case any
    /// The reference must not exist yet.
    case absent
    /// The reference must currently point at this object.
    case value(OID)
}

/// Where HEAD points.
public enum Head: Equatable, Sendable {
    /// On a branch (`refs/heads/...`); `target` is nil while the branch is unborn.
    case branch(ReferenceName, target: OID?)
    /// Detached at a commit.
    case detached(OID)

    /// The commit HEAD points at, if any.
    public var target: OID? {
        switch self {
        case .branch(_, let target): return target
        case .detached(let oid): return oid
        }
    }
}

extension Repository {
    /// The object a reference points at (following symbolic refs), or nil when it does not exist.
    public func referenceTarget(_ name: ReferenceName) throws -> OID? {
        var oid = git_oid()
        let code = git_reference_name_to_id(&oid, pointer, name.fullName)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "resolve \(name)")
        return OID(oid)
    }

    /// Creates or moves a direct reference, atomically checking its current value first.
    /// Throws a `GitError` with `isModified` when the expectation does not hold.
    public func setReference(_ name: ReferenceName, to target: OID, expecting: RefExpectation = .any, message: String) throws {
        try prepareReflogIdentity()
        var ref: OpaquePointer?
        var oid = target.raw
        let code: Int32
        switch expecting {
        case .any:
            code = git_reference_create(&ref, pointer, name.fullName, &oid, 1, message)
        case .absent:
            code = git_reference_create(&ref, pointer, name.fullName, &oid, 0, message)
        case .value(let current):
            var currentRaw = current.raw
            code = git_reference_create_matching(&ref, pointer, name.fullName, &oid, 1, &currentRaw, message)
        }
        git_reference_free(ref)
        try check(code, "update \(name)")
    }

    /// Deletes a reference; does nothing when it does not exist.
    public func deleteReference(_ name: ReferenceName) throws {
        var ref: OpaquePointer?
        let code = git_reference_lookup(&ref, pointer, name.fullName)
        if code == GIT_ENOTFOUND.rawValue { return }
        try check(code, "look up \(name)")
        defer { git_reference_free(ref) }
        try check(git_reference_delete(ref), "delete \(name)")
    }

    /// The references whose names match a glob (`refs/heads/autoresearch/*`), with their targets.
    public func references(matching glob: String) throws -> [(name: ReferenceName, target: OID)] {
        var iterator: OpaquePointer?
        try check(git_reference_iterator_glob_new(&iterator, pointer, glob), "list references \(glob)")
        defer { git_reference_iterator_free(iterator) }
        var result: [(ReferenceName, OID)] = []
        var ref: OpaquePointer?
        while git_reference_next(&ref, iterator) == 0 {
            defer { git_reference_free(ref) }
            let name = ReferenceName(String(cString: git_reference_name(ref)))
            var resolved: OpaquePointer?
            if git_reference_resolve(&resolved, ref) == 0, let id = git_reference_target(resolved) {
                result.append((name, OID(id.pointee)))
            }
            git_reference_free(resolved)
        }
        return result
    }

    /// The reference a symbolic reference names (`refs/remotes/origin/HEAD` → `refs/remotes/origin/main`),
    /// or nil when it does not exist or is not symbolic.
    public func symbolicTarget(_ name: ReferenceName) throws -> ReferenceName? {
        var ref: OpaquePointer?
        let code = git_reference_lookup(&ref, pointer, name.fullName)
        if code == GIT_ENOTFOUND.rawValue || code == GIT_EINVALIDSPEC.rawValue { return nil }
        try check(code, "read \(name.fullName)")
        defer { git_reference_free(ref) }
        guard git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC else { return nil }
        return ReferenceName(String(cString: git_reference_symbolic_target(ref)))
    }

    /// Where HEAD points.
    public func head() throws -> Head {
        var ref: OpaquePointer?
        try check(git_reference_lookup(&ref, pointer, "HEAD"), "read HEAD")
        defer { git_reference_free(ref) }
        if git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC {
            let name = ReferenceName(String(cString: git_reference_symbolic_target(ref)))
            return .branch(name, target: try referenceTarget(name))
        }
        return .detached(OID(git_reference_target(ref)!.pointee))
    }

    /// True when the branch is checked out in any work tree of the
    /// repository, this one included.
    public func isCheckedOut(branch name: ReferenceName) throws -> Bool {
        var ref: OpaquePointer?
        try check(git_reference_lookup(&ref, pointer, name.fullName), "look up \(name)")
        defer { git_reference_free(ref) }
        return try check(git_branch_is_checked_out(ref), "find where \(name) is checked out") == 1
    }

    /// Points HEAD at a branch without touching the work tree.
    public func setHead(toBranch name: ReferenceName) throws {
        try prepareReflogIdentity()
        try check(git_repository_set_head(pointer, name.fullName), "set HEAD to \(name)")
    }

    /// Detaches HEAD at `commit` without touching the index or the work tree.
    public func detachHead(at commit: OID) throws {
        try prepareReflogIdentity()
        var oid = commit.raw
        try check(git_repository_set_head_detached(pointer, &oid), "detach HEAD at \(commit.short)")
    }

    /// Moves `ref` to the object `build` makes from its current target (nil when the ref does not
    /// exist), with compare-and-swap. When another writer moved the ref or holds its lock, waits
    /// a short random time and builds again from the new target (up to 50 attempts), so no
    /// concurrent update is lost. Returns the new target.
    @discardableResult
    public func updateReference(_ ref: ReferenceName, message: String, _ build: (_ current: OID?) throws -> OID) throws -> OID {
        var attempt = 0
        while true {
            attempt += 1
            let current = try referenceTarget(ref)
            let next = try build(current)
            do {
                try setReference(ref, to: next, expecting: current.map { .value($0) } ?? .absent, message: message)
                return next
            } catch let error as GitError where error.isModified && attempt < 50 {
                usleep(UInt32.random(in: 0...UInt32(min(attempt, 10) * 5_000)))
            }
        }
    }
}
