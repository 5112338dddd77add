import Clibgit2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Repository {
    /// Brings the stat data the index caches up to date with the work tree, as `git status` does,
    /// so that files whose timestamps changed but not their contents are read once, not on every
    /// later scan (libgit2's status never writes it back). The refreshed index is made in a copy
    /// that keeps the index's modification time, so that entries as new as the index stay suspect
    /// (git's "racy git" rule), and it replaces the index under `index.lock` only if the index is
    /// still the one copied. Returns false when the index was left as it was: nothing to refresh,
    /// another writer holds `index.lock`, or the index changed meanwhile (a refresh is only a cache).
    @discardableResult
    public func refreshIndex() throws -> Bool {
        let indexPath = gitDirectory + "index", copyPath = gitDirectory + "index.refresh.\(getpid())"
        var original = stat()
        // The time first, then the bytes: a copy is never given a time newer than its contents.
        guard stat(indexPath, &original) == 0, let bytes = FileManager.default.contents(atPath: indexPath),
              let checksum = Self.indexChecksum(indexPath) else { return false }
        defer { unlink(copyPath) }
        guard FileManager.default.createFile(atPath: copyPath, contents: bytes) else {
            throw GitError(.generic, operation: "refresh the index", message: "cannot write \(copyPath): \(String(cString: strerror(errno)))")
        }
        var times = [original.st_atim, original.st_mtim]
        guard utimensat(AT_FDCWD, copyPath, &times, 0) == 0 else {
            throw GitError(.generic, operation: "refresh the index", message: "cannot set the time of \(copyPath): \(String(cString: strerror(errno)))")
        }
        try refreshStatData(ofIndexAt: copyPath)
        guard Self.indexChecksum(copyPath) != checksum else { return false }
        return try replaceIndex(at: indexPath, with: copyPath, ifChecksumIs: checksum)
    }

    /// Lets libgit2 update the stat data of the index file at `path` (`GIT_DIFF_UPDATE_INDEX`, which
    /// writes it when an entry changed), through a second handle on this repository using it.
    private func refreshStatData(ofIndexAt path: String) throws {
        guard let workdir else { return }
        var other: OpaquePointer?
        try check(git_repository_open_ext(&other, workdir, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil), "open \(workdir)")
        defer { git_repository_free(other) }
        var index: OpaquePointer?
        try check(git_index_open(&index, path), "open the index copy")
        defer { git_index_free(index) }
        try check(git_repository_set_index(other, index), "use the index copy")
        var options = git_diff_options()
        try check(git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION)), "prepare diff")
        options.flags = GIT_DIFF_UPDATE_INDEX.rawValue | GIT_DIFF_IGNORE_SUBMODULES.rawValue
        var diff: OpaquePointer?
        try check(git_diff_index_to_workdir(&diff, other, index, &options), "refresh the index")
        git_diff_free(diff)
    }

    /// Renames `refreshed` over the index while holding `index.lock` (git's lock, taken the way git
    /// and libgit2 take it), after checking the index still ends with `checksum`.
    private func replaceIndex(at indexPath: String, with refreshed: String, ifChecksumIs checksum: [UInt8]) throws -> Bool {
        let lockPath = indexPath + ".lock"
        let lock = open(lockPath, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        guard lock >= 0 else { return false }
        close(lock)
        defer { unlink(lockPath) }
        guard Self.indexChecksum(indexPath) == checksum else { return false }
        guard rename(refreshed, indexPath) == 0 else {
            throw GitError(.generic, operation: "refresh the index", message: "cannot replace \(indexPath): \(String(cString: strerror(errno)))")
        }
        return true
    }

    /// The checksum that ends an index file (its last 20 bytes), which changes with any write.
    static func indexChecksum(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_size >= 32 else { return nil }
        var checksum = [UInt8](repeating: 0, count: 20)
        guard pread(descriptor, &checksum, 20, info.st_size - 20) == 20 else { return nil }
        return checksum
    }
}
