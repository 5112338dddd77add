import Clibgit2
#if canImport(Glibc)
import Glibc
#endif

/// What the kernel reports of changes in a work tree (inotify), so that a caller can tell,
/// without scanning it, that nothing a status would show changed for a while: a quiet period
/// starts (`startQuietPeriod`), and `isQuiet` says whether anything happened since. The start of
/// the next period says which paths the events of the last one named, so a status can look at
/// those alone.
///
/// Every directory a status looks into is watched: the work tree's directories but `.git` and
/// the ignored ones (an ignored one with tracked files is watched). A new directory is watched
/// from the next quiet period on (its creation breaks the current one). A change to an ignored
/// path does not break a quiet period; anything else does: a file written, created, removed,
/// renamed or with its mode or times changed, a watched directory gone, the kernel's queue
/// overflowed (all watches are then set again at the next period).
///
/// Not reported by the kernel, so not seen here: changes made by another machine to a network
/// file system, a write through a hard link or mount in a directory not watched, and a write
/// through a shared memory mapping by a process still running (the file is reported closed
/// after writing when the process exits). The watch is for a loop's own child processes on
/// this machine, which have exited when it is asked.
public final class WorkTreeWatch {
    private let repository: Repository
    /// The top of the work tree, with a trailing slash.
    private let root: String
    /// The inotify instance (internal for tests).
    var descriptor: Int32 = -1
    /// The directory (relative, "" or ending in "/") of each watch.
    private var directories: [Int32: String] = [:]
    /// Directories created since the last period started, watched when the next starts.
    private var created: [String] = []
    private var changed = false
    /// The paths the events of this period named (a directory's with a trailing "/").
    private var touched: Set<String> = []
    /// The queue overflowed, the top directory went, or a watch could not be set: every watch
    /// is set again, and what this period touched is unknown.
    private var lost = false
    /// The kernel refused to set the watches again: the watch serves no more.
    public private(set) var isBroken = false
    /// Past this many paths touched in a period, a status of the whole work tree is as cheap.
    private static let touchedLimit = 10_000
    /// Where the kernel's events are read into (kept: events are read several times an iteration).
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    /// What a watch reports: contents, metadata, names coming and going, the directory itself.
    private static let events = UInt32(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM
        | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

    /// Watches the work tree of `repository`; nil when it has none or the kernel refuses (no
    /// inotify, or more directories than `fs.inotify.max_user_watches` allows).
    public init?(_ repository: Repository) {
        guard let workdir = repository.workdir else { return nil }
        self.repository = repository
        root = workdir.hasSuffix("/") ? workdir : workdir + "/"
        guard setWatches() else {
            if descriptor >= 0 { close(descriptor) }
            return nil
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Ends the quiet period and starts the next: from now on, `isQuiet` says whether anything
    /// changed. Returns the paths the events of the period that ended named (ignored ones
    /// too; a directory's path, ending in "/", stands for everything under it), or nil when they
    /// are unknown (the watches were set again, or there were too many).
    public func startQuietPeriod() -> [String]? {
        readEvents()
        let paths = lost || touched.count > Self.touchedLimit ? nil : touched.sorted()
        if lost || created.contains(where: { looksInto($0) && !watch($0) }) {
            isBroken = !setWatches()
            return nil
        }
        (created, changed, touched) = ([], false, [])
        return paths
    }

    /// True when nothing a status would show changed since the quiet period started.
    public func isQuiet() -> Bool {
        readEvents()
        return !changed && !lost && !isBroken
    }

    /// Sets a watch on every directory afresh; false when the kernel refuses.
    private func setWatches() -> Bool {
        if descriptor >= 0 { close(descriptor) }
        directories = [:]
        (created, changed, touched, lost) = ([], false, [], false)
        descriptor = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
        return descriptor >= 0 && watch("")
    }

    /// Watches `directory` and the directories under it that a status looks into; false when
    /// the kernel refused a watch, or a directory's name is not UTF-8 (its path cannot be
    /// spelt again to watch it). A directory gone meanwhile is no failure: its parent reported it.
    private func watch(_ directory: String) -> Bool {
        let path = root + directory
        let watchDescriptor = inotify_add_watch(descriptor, path, Self.events)
        guard watchDescriptor >= 0 else { return errno == ENOENT || errno == ENOTDIR }
        directories[watchDescriptor] = directory
        guard let stream = opendir(path) else { return true }
        defer { closedir(stream) }
        var subdirectories: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != "..", !(directory.isEmpty && name == ".git") else { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var info = stat()
                isDirectory = lstat(path + name, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
            }
            if isDirectory {
                guard !name.contains("\u{FFFD}") else { return false }
                subdirectories.append(directory + name + "/")
            }
        }
        return subdirectories.allSatisfy { !looksInto($0) || watch($0) }
    }

    /// Whether a status looks into `directory` (ending in "/"): not ignored, or holding tracked files.
    private func looksInto(_ directory: String) -> Bool {
        !isIgnored(directory) || tracks(directory)
    }

    private func isIgnored(_ path: String) -> Bool {
        var ignored: Int32 = 0
        return git_ignore_path_is_ignored(&ignored, repository.pointer, path) == 0 && ignored != 0
    }

    /// Whether the index has `path` (a file) or entries under it (a directory, ending in "/").
    private func tracks(_ path: String) -> Bool {
        var index: OpaquePointer?
        guard git_repository_index(&index, repository.pointer) == 0 else { return true }
        defer { git_index_free(index) }
        if path.hasSuffix("/") { return git_index_find_prefix(nil, index, path) == 0 }
        return git_index_get_bypath(index, path, 0) != nil
    }

    /// Reads the events queued so far into `changed`, `created` and `lost`.
    private func readEvents() {
        guard descriptor >= 0 else { return }
        let header = MemoryLayout<inotify_event>.size
        var paths: Set<String> = []
        while true {
            let count = buffer.withUnsafeMutableBytes { [descriptor] in read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            // Nothing queued (EAGAIN) ends the read; any other failure leaves the period unknown.
            if count < 0 && errno != EAGAIN { lost = true }
            guard count > 0 else { break }
            buffer.withUnsafeBytes { bytes in
                var offset = 0
                while offset + header <= count {
                    let watchDescriptor = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let name = String(decoding: bytes[(offset + header)..<min(offset + header + length, count)].prefix { $0 != 0 }, as: UTF8.self)
                    offset += header + length
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 { lost = true; continue }
                    if mask & UInt32(IN_IGNORED) != 0 {
                        if let directory = directories.removeValue(forKey: watchDescriptor) {
                            if directory.isEmpty { lost = true } else { touched.insert(directory) }
                        }
                        changed = true
                        continue
                    }
                    guard let directory = directories[watchDescriptor] else { continue }
                    guard !name.isEmpty else {
                        // The directory itself: moved or removed (the top: every watch is set again), or its mode changed.
                        if directory.isEmpty { lost = true } else { touched.insert(directory) }
                        changed = true
                        continue
                    }
                    let isDirectory = mask & UInt32(IN_ISDIR) != 0
                    let path = directory + name + (isDirectory ? "/" : "")
                    if isDirectory && mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                        // A name that is not UTF-8 cannot be spelt again to watch it: set every watch again (which fails).
                        if name.contains("\u{FFFD}") { lost = true } else { created.append(path) }
                    }
                    paths.insert(path)
                    touched.insert(path)
                }
            }
        }
        // A change to an ignored path is no change to a status, unless the path is tracked; the
        // files that say what is ignored, or how a file reads, always count.
        if !changed {
            changed = paths.contains { path in
                let name = path.split(separator: "/").last ?? ""
                return name == ".gitignore" || name == ".gitattributes" || !isIgnored(path) || tracks(path)
            }
        }
    }
}
