import Clibgit2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// libgit2 is initialised once per process, with owner validation off: libgit2 1.5.1 refuses
/// repositories owned by another user with a misleading "safe.directory not found" error, even
/// when `safe.directory` lists them. `Repository(discoveringFrom:)` makes git's check itself.
/// Trees up to 1 MB stay in libgit2's object cache (its default, 4 KB, is less than a directory
/// of 200 files or a notes fanout level of 256 subtrees: each lookup inflated them from disk
/// again). malloc keeps freed memory for the next object libgit2 writes (`clibgit2_keep_freed_memory`).
private let libgit2Ready: Void = {
    git_libgit2_init()
    clibgit2_set_owner_validation(0)
    clibgit2_set_cache_object_limit(GIT_OBJECT_TREE, 1 << 20)
    clibgit2_keep_freed_memory()
}()

/// An open git repository. Owns its libgit2 handle; use one per task (it is not thread-safe).
public final class Repository {
    let pointer: OpaquePointer
    /// The last answer of `treeChanges(from:to:)`: an iteration asks for the same two trees up
    /// to four times (size limits, guarded paths, the restore hint, in reverse the reset). Trees
    /// never change.
    var lastTreeChanges: (old: OID, new: OID, changes: [TreeChange])?
    /// What is known of the index: recorded when this code writes the index from a tree or
    /// checks it against one (`stage`, `resetHard`); a caller may keep it between processes.
    public var indexMatch: IndexMatch?
    /// The second handle a status of a large work tree scans with (`readStatusOnTwoThreads`).
    var statusHelperHandle: Repository?
    /// The names and emails of commits' author and committer, read on the first commit this
    /// handle writes (`signatures`): a loop's three commits per iteration read the configuration once.
    var identities: [(role: SignatureRole, name: String, email: String)]?

    /// Opens the repository at `path` exactly (a work tree or a git directory).
    public init(path: String) throws {
        _ = libgit2Ready
        var handle: OpaquePointer?
        try check(git_repository_open_ext(&handle, path, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil),
                  "open repository at \(path)")
        pointer = handle!
        try addCommandLineConfig()
    }

    /// Opens the repository that contains `path`, searching upwards like `git` does. Like git,
    /// refuses a repository owned by another user unless `safe.directory` lists it
    /// (throws `DubiousOwnership`).
    public init(discoveringFrom path: String) throws {
        _ = libgit2Ready
        var handle: OpaquePointer?
        try check(git_repository_open_ext(&handle, path, 0, nil), "find a git repository at or above \(path)")
        pointer = handle!
        try checkOwnership()
        try addCommandLineConfig()
    }

    /// Opens the repository a git subcommand started in `directory` works on: with `GIT_DIR` in
    /// `environment` (what `git --git-dir` sets), that git directory, its work tree being
    /// `GIT_WORK_TREE` (`git --work-tree`), else `core.worktree`, else `directory`, as in git;
    /// without it, the repository containing `directory`.
    public convenience init(gitEnvironment environment: [String: String], directory: String) throws {
        guard let gitDirectory = environment["GIT_DIR"], !gitDirectory.isEmpty else {
            try self.init(discoveringFrom: directory)
            return
        }
        let base = URL(fileURLWithPath: directory, isDirectory: true)
        try self.init(path: URL(fileURLWithPath: gitDirectory, relativeTo: base).standardizedFileURL.path)
        try checkOwnership()
        let workTree = environment["GIT_WORK_TREE"].flatMap { $0.isEmpty ? nil : $0 }
        if let workTree {
            let path = URL(fileURLWithPath: workTree, relativeTo: base).standardizedFileURL.path
            try check(git_repository_set_workdir(pointer, path, 0), "use \(path) as the work tree")
        } else if workdir != nil, try configValue("core.worktree") == nil {
            try check(git_repository_set_workdir(pointer, base.standardizedFileURL.path, 0), "use \(directory) as the work tree")
        }
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
    /// The repository's configuration (all levels, as git reads them) as it is now, to read.
    public func configuration() throws -> ConfigFile {
        var config: OpaquePointer?
        try check(git_repository_config_snapshot(&config, pointer), "read the repository configuration")
        return ConfigFile(owning: config!, path: "the repository configuration")
    }

    /// The value of `key` in the repository's configuration (all levels, as git reads them), or nil.
    public func configValue(_ key: String) throws -> String? {
        try withConfigSnapshot { try Self.string(key, in: $0) }
    }

    /// Runs `body` with a snapshot of the repository's configuration (all levels): one read of
    /// the files for several settings.
    func withConfigSnapshot<T>(_ body: (OpaquePointer?) throws -> T) throws -> T {
        var config: OpaquePointer?
        try check(git_repository_config_snapshot(&config, pointer), "read the repository configuration")
        defer { git_config_free(config) }
        return try body(config)
    }

    /// The value of `key` in the user's and the system's configuration and `git -c`: for
    /// settings read outside a repository.
    public static func globalConfigValue(_ key: String) throws -> String? {
        ensureLibraryReady()
        var config: OpaquePointer?
        try check(git_config_open_default(&config), "read the global git configuration")
        defer { git_config_free(config) }
        if let path = try CommandLineConfig.layerPath.get() {
            try check(git_config_add_file_ondisk(config, path, GIT_CONFIG_LEVEL_APP, nil, 0), "read the settings of git -c")
        }
        return try string(key, in: config)
    }

    /// The value of `key` in `config`, nil when it is not set.
    static func string(_ key: String, in config: OpaquePointer?) throws -> String? {
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

/// A repository owned by another user and not listed in `safe.directory`: git refuses to work in
/// it, since its configuration and hooks could run commands as the current user.
public struct DubiousOwnership: Error, CustomStringConvertible {
    /// The work tree (or the git directory of a bare repository), as `safe.directory` would name it.
    public let path: String
    public let owner: uid_t
    public let user: uid_t

    public var description: String { "detected dubious ownership in repository at '\(path)'" }
}

extension Repository {
    /// git's ownership check: the work tree and the git directory must belong to the user
    /// (the effective uid; for root, also `SUDO_UID`), unless the system or global configuration
    /// lists the work tree in `safe.directory` (or has `safe.directory=*`).
    func checkOwnership() throws {
        let path = String((workdir ?? gitDirectory).dropLast())
        for checked in [path, gitDirectory] {
            var info = stat()
            guard stat(checked, &info) == 0, !Self.isCurrentUser(info.st_uid) else { continue }
            if try Self.safeDirectories().contains(where: { Self.safeDirectory($0, covers: path) }) { return }
            throw DubiousOwnership(path: path, owner: info.st_uid, user: geteuid())
        }
    }

    private static func isCurrentUser(_ owner: uid_t) -> Bool {
        let user = geteuid()
        if owner == user { return true }
        guard user == 0, let sudo = ProcessInfo.processInfo.environment["SUDO_UID"].flatMap(uid_t.init) else { return false }
        return owner == sudo
    }

    /// The `safe.directory` values of the system and global configuration, in order; an empty
    /// value clears the ones before it, as in git. The repository's own configuration is not read.
    static func safeDirectories() throws -> [String] {
        var config: OpaquePointer?
        try check(git_config_open_default(&config), "read the global git configuration")
        defer { git_config_free(config) }
        var iterator: OpaquePointer?
        let code = git_config_multivar_iterator_new(&iterator, config, "safe.directory", nil)
        if code == GIT_ENOTFOUND.rawValue { return [] }
        try check(code, "read safe.directory")
        defer { git_config_iterator_free(iterator) }
        var values: [String] = []
        var entry: UnsafeMutablePointer<git_config_entry>?
        while git_config_next(&entry, iterator) == 0, let value = entry?.pointee.value.map({ String(cString: $0) }) {
            if value.isEmpty { values.removeAll() } else { values.append(value) }
        }
        return values
    }

    /// True when the `safe.directory` value `value` names `path`: `*`, the path itself (`~/`
    /// for the home directory; a trailing slash ignored), or a prefix of it ending in `/*`.
    static func safeDirectory(_ value: String, covers path: String) -> Bool {
        if value == "*" { return true }
        var listed = value
        if listed.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] {
            listed = home + listed.dropFirst(1)
        }
        let candidates = Set([path, URL(fileURLWithPath: path).resolvingSymlinksInPath().path])
        if listed.hasSuffix("/*") {
            let prefix = String(listed.dropLast())
            return candidates.contains { ($0 + "/").hasPrefix(prefix) }
        }
        while listed.count > 1, listed.hasSuffix("/") { listed.removeLast() }
        return candidates.contains(listed)
    }
}

/// libgit2's check that the objects a new tree or commit names exist with the right type
/// (`GIT_OPT_ENABLE_STRICT_OBJECT_CREATION`), suspended while any caller of `suspended` runs and
/// on otherwise. The setting is process-wide: meanwhile, trees other threads write are not
/// checked either (the tool's commands use libgit2 from one thread; tests run many at once).
enum ObjectValidation {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var suspensions = 0

    /// Runs `body` with the check off.
    static func suspended<T>(_ body: () throws -> T) rethrows -> T {
        lock.withLock {
            suspensions += 1
            if suspensions == 1 { clibgit2_set_strict_object_creation(0) }
        }
        defer {
            lock.withLock {
                suspensions -= 1
                if suspensions == 0 { clibgit2_set_strict_object_creation(1) }
            }
        }
        return try body()
    }
}
