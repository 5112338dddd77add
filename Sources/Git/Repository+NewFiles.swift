import Clibgit2
#if canImport(Glibc)
import Glibc
#endif

/// The modification times of the work tree's directories that hold tracked files (and of the
/// directories above them), taken before something runs in the work tree, so that
/// `Repository.untrackedFiles(appearedSince:)` looks only into the directories whose time moved
/// (a few hundred `stat` on a 50,000-file tree instead of a full scan). A file created, removed or
/// renamed moves its directory's time; a file rewritten in place does not: this finds new files only.
public struct DirectoryTimes: Sendable {
    /// Each watched directory, relative to the top of the work tree ("" for the top), with its
    /// modification time in nanoseconds (nil when it could not be read).
    fileprivate let times: [String: Int64?]
    /// When the times were taken (nanoseconds since the epoch, the real-time clock).
    fileprivate let taken: Int64
    /// The kernel's coarse real-time clock (its last tick) when the times were taken, before the
    /// first `stat`.
    fileprivate let tick: Int64
    /// True when the work tree's file system is one that stamps times in nanoseconds from the
    /// kernel's clock (ext4, XFS, Btrfs, tmpfs, overlayfs over them): see `mayHideAChange`.
    fileprivate let stampsFromTheKernelClock: Bool

    /// A directory whose time is this close to `taken` is looked into even when its time did not
    /// move, on a file system that keeps times more coarsely than the clock reads (FAT at 2 s,
    /// ext4 with small inodes at 1 s, a network file system with its server's clock).
    fileprivate static let racyWindow: Int64 = 3_000_000_000

    /// True when a change made after the times were taken could have left a directory's `time`
    /// as it was, so that an unchanged time proves nothing: the directory is looked into. On a
    /// file system stamping times from the kernel's clock a change gets at least the clock's
    /// current tick (or, Linux 6.13 on, a finer time once the old one was read), so only a time
    /// of the tick the times were taken in can hide one. A time without nanoseconds may come from
    /// a file system that keeps seconds (ext4 with small inodes): then, as elsewhere, any time
    /// within `racyWindow` of `taken`.
    fileprivate func mayHideAChange(_ time: Int64) -> Bool {
        if stampsFromTheKernelClock, time % 1_000_000_000 != 0 { return time >= tick }
        return time >= taken - Self.racyWindow
    }

    /// The file systems whose times come from the kernel's clock, in nanoseconds (`statfs` types:
    /// ext2/3/4, XFS, Btrfs, tmpfs, overlayfs).
    private static let kernelStampedFileSystems: Set<Int> = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0x794C_7630]

    /// True when the file system holding `path` is one of `kernelStampedFileSystems`.
    static func stampsFromTheKernelClock(_ path: String) -> Bool {
        kernelStampedFileSystems.contains(clibgit2_file_system_type(path))
    }

    fileprivate static func nanoseconds(_ clock: clockid_t) -> Int64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

extension Repository {
    /// The modification times of the directories holding the index's entries or `others` (paths
    /// of files relative to the top of the work tree, such as untracked files to watch too), and
    /// of every directory above them.
    public func directoryTimes(alsoWatching others: some Sequence<String>) throws -> DirectoryTimes {
        var directories = try indexDirectories()
        for path in others { Self.insertDirectory(of: Array(path.utf8)[...], into: &directories) }
        let root = workdir ?? ""
        let (taken, tick) = (DirectoryTimes.nanoseconds(CLOCK_REALTIME), DirectoryTimes.nanoseconds(CLOCK_REALTIME_COARSE))
        var times: [String: Int64?] = [:]
        for directory in directories { times[directory] = Self.modificationTime(root + directory) }
        return DirectoryTimes(times: times, taken: taken, tick: tick,
                              stampsFromTheKernelClock: DirectoryTimes.stampsFromTheKernelClock(root.isEmpty ? "." : root))
    }

    /// The untracked files (ignored ones left out) that appeared in the directories of `before`
    /// since it was taken, or that sit there in new untracked directories; files found in
    /// directories whose time moved, without scanning the others.
    public func untrackedFiles(appearedSince before: DirectoryTimes) throws -> [String] {
        let root = workdir ?? ""
        var index: OpaquePointer?
        try check(git_repository_index(&index, pointer), "open the index")
        defer { git_index_free(index) }
        try check(git_index_read(index, 0), "read the index")
        var candidates: [String] = []
        for (directory, time) in before.times {
            let now = Self.modificationTime(root + directory)
            guard now != time || before.mayHideAChange(now ?? 0) else { continue }
            candidates += Self.untrackedEntries(of: directory, root: root, index: index, watched: before.times)
        }
        return try untrackedFiles(among: candidates)
    }

    /// The untracked files (ignored ones left out) among `paths`, relative to the top of the work
    /// tree; a directory stands for the files below it.
    public func untrackedFiles(among paths: [String]) throws -> [String] {
        guard !paths.isEmpty else { return [] }
        let status = try readStatus(show: GIT_STATUS_SHOW_WORKDIR_ONLY, flags: GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH.rawValue,
                                    paths: paths)
        return status.entries.filter(\.isUntracked).map(\.path)
    }

    /// The names in `directory` that are neither in the index nor watched directories, as paths
    /// from the top of the work tree (`.git` left out).
    private static func untrackedEntries(of directory: String, root: String, index: OpaquePointer?,
                                         watched: [String: Int64?]) -> [String] {
        DirectoryEntry.list(root + directory).compactMap { entry in
            if directory.isEmpty && entry.name == ".git" { return nil }
            let path = directory.isEmpty ? entry.name : directory + "/" + entry.name
            var position = 0
            return watched[path] != nil || git_index_find(&position, index, path) == 0 ? nil : path
        }
    }

    /// Every directory holding an index entry, and every directory above one ("" for the top).
    private func indexDirectories() throws -> Set<String> {
        var index: OpaquePointer?
        try check(git_repository_index(&index, pointer), "open the index")
        defer { git_index_free(index) }
        try check(git_index_read(index, 0), "read the index")
        var directories: Set<String> = [""]
        var previous: (path: UnsafePointer<CChar>, length: Int)?
        for position in 0..<git_index_entrycount(index) {
            guard let path = git_index_get_byindex(index, position)?.pointee.path, let slash = strrchr(path, 0x2F) else { continue }
            let length = path.distance(to: UnsafePointer(slash))
            // Entries are sorted: most share the directory of the entry before.
            if let previous, previous.length == length, memcmp(previous.path, path, length) == 0 { continue }
            previous = (path, length)
            let bytes = UnsafeRawBufferPointer(start: path, count: length)
            Self.insertDirectory(of: Array(bytes)[...] + [0x2F], into: &directories)
        }
        return directories
    }

    /// Inserts the directory holding `path` (UTF-8, relative to the top) and those above it.
    private static func insertDirectory(of path: ArraySlice<UInt8>, into directories: inout Set<String>) {
        var rest = path
        while let slash = rest.lastIndex(of: 0x2F) {
            rest = rest[..<slash]
            guard directories.insert(String(decoding: rest, as: UTF8.self)).inserted else { return }
        }
    }

    /// The modification time of `path` in nanoseconds, nil when it cannot be read.
    private static func modificationTime(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}
