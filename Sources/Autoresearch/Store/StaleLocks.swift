import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// Lock files (`REF.lock`) that libgit2 or git left on the tool's own references
/// (`Refs.ownNamespaces`) when killed in the middle of an update: until removed, such a file
/// makes every later update of its reference fail. libgit2 writes no pid into a reference's lock
/// file, so its age is the only sign that its holder is gone. Lock files on any other reference
/// (`refs/heads/main.lock`), and `index.lock` or `HEAD.lock`, belong to the user's git and are
/// never touched.
struct StaleLocks {
    /// A lock file on one of our references in this machine's repository older than this was
    /// left by a killed process: a live libgit2 or git holds a reference's lock for the
    /// milliseconds of one update, so 30 s leaves room for a machine under heavy load while the
    /// next command clears what a `kill -9` left without making anyone wait.
    static let localBound: TimeInterval = 30
    /// The same for a repository on the file system that other machines push to, unless git
    /// config `autoresearch.staleLockSeconds` says otherwise: a shared file system's clocks may
    /// disagree by minutes, so a younger lock is left to its holder.
    static let remoteBound: TimeInterval = 300
    /// The git config key overriding `remoteBound`.
    static let remoteBoundKey = "autoresearch.staleLockSeconds"

    /// A lock file on one of our references.
    struct LockFile {
        let path: String
        /// Seconds since it was last written.
        let age: TimeInterval
    }

    /// The git directory holding the references (a repository's common directory).
    let gitDirectory: String

    init(gitDirectory: String) {
        self.gitDirectory = gitDirectory.hasSuffix("/") ? gitDirectory : gitDirectory + "/"
    }

    /// Every lock file on one of our references in `namespaces`.
    func lockFiles(in namespaces: [String] = Refs.ownNamespaces) -> [LockFile] {
        namespaces.flatMap { pattern in
            directories(matching: pattern).flatMap { path in
                pattern.hasSuffix("/") ? Self.lockFiles(under: path) : [path + ".lock"]
            }
        }.compactMap(Self.lockFile(at:))
    }

    /// Removes the lock files on our references older than `bound` (every one when nil), with a
    /// notice naming each; returns those left because they are younger.
    @discardableResult
    func clear(in namespaces: [String] = Refs.ownNamespaces, olderThan bound: TimeInterval?,
               notice: (String) -> Void) -> [LockFile] {
        lockFiles(in: namespaces).filter { lock in !Self.remove(lock, ifOlderThan: bound, notice: notice) }
    }

    /// Removes the lock file of our reference `ref` when it is older than `bound` (whatever its
    /// age when nil); true when it did.
    func clearLock(of ref: ReferenceName, olderThan bound: TimeInterval?, notice: (String) -> Void) -> Bool {
        guard Refs.isOwn(ref), let lock = Self.lockFile(at: gitDirectory + ref.fullName + ".lock") else { return false }
        return Self.remove(lock, ifOlderThan: bound, notice: notice)
    }

    /// Runs `body` holding the lock every writer of the ledger's references (`Refs.lockedNamespaces`)
    /// in this repository holds. Meanwhile a lock file on one of those references was left by a
    /// killed process, whatever its age: the kernel released the killed holder's `FileLock`.
    static func withReferenceLock<T>(in repository: Repository, _ body: () throws -> T) throws -> T {
        let path = LocalState.referenceLockPath(repository)
        let directory = (path as NSString).deletingLastPathComponent
        if access(directory, F_OK) != 0 {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        return try FileLock.withLock(path, body)
    }

    /// Runs `update`, which writes `ref`, one of the ledger's references, under the ledger's lock;
    /// when it fails on a lock file (left by a process killed meanwhile), removes it and runs it
    /// once more.
    static func retrying<T>(_ ref: ReferenceName, in repository: Repository, notice: (String) -> Void,
                            _ update: () throws -> T) throws -> T {
        try retrying(in: repository, clearing: { $0.clearLock(of: ref, olderThan: nil, notice: notice) }, update)
    }

    /// Runs `update`, which writes references of ours, under the ledger's lock; when it fails on a
    /// lock file, `clear` removes those it may (every one held under that lock was left by a killed
    /// process) and says whether it removed any, and `update` runs once more if so.
    static func retrying<T>(in repository: Repository, clearing clear: (StaleLocks) -> Bool, _ update: () throws -> T) throws -> T {
        try withReferenceLock(in: repository) {
            do {
                return try update()
            } catch let error as GitError where error.isModified {
                guard clear(StaleLocks(gitDirectory: repository.commonDirectory)) else { throw error }
                return try update()
            }
        }
    }

    /// The directories (or, for an exact name, the paths without `.lock`) a namespace pattern
    /// names, `*` matched against the directories that exist.
    private func directories(matching pattern: String) -> [String] {
        var paths = [String(gitDirectory.dropLast())]
        for component in pattern.split(separator: "/") {
            guard component == "*" else {
                paths = paths.map { $0 + "/" + component }
                continue
            }
            paths = paths.flatMap { parent in DirectoryEntry.list(parent).filter(\.isDirectory).map { parent + "/" + $0.name } }
        }
        return paths
    }

    /// The `.lock` files anywhere below `directory`. Read with `readdir` (runs before every
    /// iteration: Foundation's enumerator cost ten times as much).
    private static func lockFiles(under directory: String) -> [String] {
        DirectoryEntry.list(directory).flatMap { entry in
            let path = directory + "/" + entry.name
            if entry.isDirectory { return lockFiles(under: path) }
            return entry.name.hasSuffix(".lock") ? [path] : []
        }
    }

    /// The lock file at `path`, if there is one.
    static func lockFile(at path: String) -> LockFile? {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        let modified = Date(timeIntervalSince1970: TimeInterval(status.st_mtim.tv_sec))
        return LockFile(path: path, age: max(0, Date().timeIntervalSince(modified)))
    }

    private static func remove(_ lock: LockFile, ifOlderThan bound: TimeInterval?, notice: (String) -> Void) -> Bool {
        guard lock.age > (bound ?? -1), unlink(lock.path) == 0 || errno == ENOENT else { return false }
        notice("removed a stale lock file (\(Durations.format(lock.age)) old): \(lock.path)")
        return true
    }
}
