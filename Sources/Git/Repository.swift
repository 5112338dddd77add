import Clibgit2
#if canImport(Glibc)
import Glibc
#endif

/// libgit2 is initialised once per process, with owner validation off: libgit2 1.5.1 refuses
/// repositories owned by another user with a misleading "safe.directory not found" error.
private let libgit2Ready: Void = {
    git_libgit2_init()
    clibgit2_set_owner_validation(0)
}()

/// An open git repository. Owns its libgit2 handle; use one per task (it is not thread-safe).
public final class Repository {
    let pointer: OpaquePointer

    /// Opens the repository at `path` exactly (a work tree or a git directory).
    public init(path: String) throws {
        _ = libgit2Ready
        var handle: OpaquePointer?
        try check(git_repository_open_ext(&handle, path, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil),
                  "open repository at \(path)")
        pointer = handle!
    }

    /// Opens the repository that contains `path`, searching upwards like `git` does.
    public init(discoveringFrom path: String) throws {
        _ = libgit2Ready
        var handle: OpaquePointer?
        try check(git_repository_open_ext(&handle, path, 0, nil), "find a git repository at or above \(path)")
        pointer = handle!
    }

    /// Creates a new repository (non-bare unless `bare`) at `path`.
    public static func create(at path: String, bare: Bool = false) throws -> Repository {
        _ = libgit2Ready
        var handle: OpaquePointer?
        try check(git_repository_init(&handle, path, bare ? 1 : 0), "create repository at \(path)")
        git_repository_free(handle)
        return try Repository(path: path)
    }

    deinit { git_repository_free(pointer) }

    /// Initialises libgit2 for this process (done by every initialiser; idempotent).
    static func ensureLibraryReady() { _ = libgit2Ready }

    /// The working directory with a trailing slash, or nil for a bare repository.
    public var workdir: String? { git_repository_workdir(pointer).map { String(cString: $0) } }

    /// The git directory of this work tree (per-worktree state lives here), with a trailing slash.
    public var gitDirectory: String { String(cString: git_repository_path(pointer)) }

    /// The directory shared by all work trees (objects, refs), with a trailing slash.
    public var commonDirectory: String { String(cString: git_repository_commondir(pointer)) }

    /// True for a shallow clone (`git clone --depth N`): its history stops at the commits listed
    /// in `.git/shallow`, whose parents are missing.
    public var isShallow: Bool { git_repository_is_shallow(pointer) == 1 }

    /// The author and committer for commits this tool writes: the user's configured identity,
    /// or a fixed one where `user.name`/`user.email` are unset (CI machines).
    func signature() throws -> UnsafeMutablePointer<git_signature> {
        var signature: UnsafeMutablePointer<git_signature>?
        if git_signature_default(&signature, pointer) == 0, let signature { return signature }
        try check(git_signature_now(&signature, "git-autoresearch", "git-autoresearch@localhost"), "make a signature")
        return signature!
    }
}

/// A C string array for libgit2 calls, kept alive for the duration of `body`.
func withStrArray<T>(_ strings: [String], _ body: (inout git_strarray) throws -> T) rethrows -> T {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    return try pointers.withUnsafeMutableBufferPointer { buffer in
        var array = git_strarray(strings: buffer.baseAddress, count: strings.count)
        return try body(&array)
    }
}

extension Repository {
    /// The value of `key` in the repository's configuration (all levels, as git reads them), or nil.
    public func configValue(_ key: String) throws -> String? {
        var config: OpaquePointer?
        try check(git_repository_config_snapshot(&config, pointer), "read the repository configuration")
        defer { git_config_free(config) }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        let code = git_config_get_string_buf(&buffer, config, key)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "read \(key)")
        return String(cString: buffer.ptr)
    }

    /// Writes the index (the staging area) as a tree and returns its id: what `git commit` would
    /// commit. `indexFile` is another index file, such as the one `git commit -a` hands its hooks
    /// in `GIT_INDEX_FILE`.
    public func indexTree(indexFile: String? = nil) throws -> OID {
        var index: OpaquePointer?
        if let indexFile {
            try check(git_index_open(&index, indexFile), "open the index \(indexFile)")
        } else {
            try check(git_repository_index(&index, pointer), "open the index")
        }
        defer { git_index_free(index) }
        var oid = git_oid()
        try check(git_index_write_tree_to(&oid, index, pointer), "write the index as a tree")
        return OID(oid)
    }
}
