import Clibgit2
#if canImport(Glibc)
import Glibc
#endif

extension Repository {
    /// The status of the files at `paths` against `index`, as libgit2's status limited to them
    /// finds it (work tree side only), without reading their directories: each file's stat data
    /// is compared with its entry (`maybe_modified` in libgit2), and its content hashed, through
    /// the filters `git add` applies, when that cannot tell; a new file is looked up in the
    /// ignore rules. For an index known to hold HEAD's tree and paths a `WorkTreeWatch` named.
    ///
    /// Nil, for libgit2's status to do it all, when a path is a directory (or was one, or stands
    /// for one), a link, anything but a regular file, or a `.git*` name (which changes other
    /// paths' rules); when its entry is a link, a submodule, skip-worktree or intent-to-add; when
    /// the index has conflicts or ignores case.
    func statusOfFiles(_ paths: [String], in index: OpaquePointer?, workdir: String) throws -> WorkTreeStatus? {
        let capabilities = git_index_caps(index)
        guard capabilities & Int32(GIT_INDEX_CAPABILITY_IGNORE_CASE.rawValue) == 0, git_index_has_conflicts(index) == 0,
              let indexPath = git_index_path(index) else { return nil }
        let trustsFileMode = capabilities & Int32(GIT_INDEX_CAPABILITY_NO_FILEMODE.rawValue) == 0
        var indexFile = stat()
        guard stat(indexPath, &indexFile) == 0 else { return nil }
        var entries: [StatusEntry] = []
        var unchangedFilesRead = 0
        for path in Set(paths).sorted() {
            guard Self.isPlainPath(path) else { return nil }
            var file = stat()
            let exists = lstat(workdir + path, &file) == 0
            guard exists || errno == ENOENT || errno == ENOTDIR else { return nil }
            guard let tracked = git_index_get_bypath(index, path, 0)?.pointee else {
                // Not tracked: what was a tracked directory, a new file, an ignored one, or gone.
                var position = 0
                guard git_index_find_prefix(&position, index, path + "/") == GIT_ENOTFOUND.rawValue else { return nil }
                guard exists else { continue }
                guard file.st_mode & S_IFMT == S_IFREG else { return nil }
                var ignored: Int32 = 0
                try check(git_ignore_path_is_ignored(&ignored, pointer, path), "read the ignore rules for \(path)")
                if ignored == 0 { entries.append(StatusEntry(path: path, flags: GIT_STATUS_WT_NEW.rawValue)) }
                continue
            }
            let mode = FileMode(git_filemode_t(tracked.mode))
            guard mode == .blob || mode == .executable,
                  tracked.flags_extended & UInt16(GIT_INDEX_ENTRY_SKIP_WORKTREE.rawValue | GIT_INDEX_ENTRY_INTENT_TO_ADD.rawValue) == 0
            else { return nil }
            guard exists else {
                entries.append(StatusEntry(path: path, flags: GIT_STATUS_WT_DELETED.rawValue))
                continue
            }
            guard file.st_mode & S_IFMT == S_IFREG else { return nil }
            let fileMode: FileMode = trustsFileMode ? (file.st_mode & 0o100 != 0 ? .executable : .blob) : mode
            // A size of 0 in the index may be one git zeroed to force a read (a racily clean entry).
            let sizeDiffers = Int(tracked.file_size) != Int(file.st_size)
            if fileMode != mode || (sizeDiffers && tracked.file_size != 0) {
                entries.append(StatusEntry(path: path, flags: GIT_STATUS_WT_MODIFIED.rawValue))
                continue
            }
            if !sizeDiffers, Self.statDataMatches(tracked, file),
               !WorkTreeStatus.isAtOrAfter(seconds: Int(tracked.mtime.seconds), nanoseconds: Int(tracked.mtime.nanoseconds), indexFile.st_mtim) {
                continue
            }
            var id = git_oid()
            try check(git_repository_hashfile(&id, pointer, path, GIT_OBJECT_BLOB, nil), "hash \(path)")
            if OID(id) == OID(tracked.id) {
                unchangedFilesRead += 1
            } else {
                entries.append(StatusEntry(path: path, flags: GIT_STATUS_WT_MODIFIED.rawValue))
            }
        }
        return WorkTreeStatus(entries: entries, unchangedFilesRead: unchangedFilesRead)
    }

    /// Whether `path` is a plain file's path that this module handles by name alone (`statusOfFiles`,
    /// `restoreFiles`): every component a name ("", ".", ".." are not; a trailing "/" makes an empty
    /// one), none starting with `.git` in any case (git's own, or files that change how other paths
    /// read), no byte that was not UTF-8 (the replacement character stands for it).
    static func isPlainPath(_ path: String) -> Bool {
        !path.contains("\u{FFFD}") && !path.split(separator: "/", omittingEmptySubsequences: false).contains {
            $0.isEmpty || $0 == "." || $0 == ".." || $0.lowercased().hasPrefix(".git")
        }
    }

    /// Whether `file`'s stat data is what `entry` cached (times to the nanosecond, inode, owner).
    private static func statDataMatches(_ entry: git_index_entry, _ file: stat) -> Bool {
        func same(_ time: git_index_time, _ fileTime: timespec) -> Bool {
            Int(time.seconds) == fileTime.tv_sec && Int(time.nanoseconds) == fileTime.tv_nsec
        }
        return same(entry.mtime, file.st_mtim) && same(entry.ctime, file.st_ctim)
            && entry.ino == UInt32(truncatingIfNeeded: file.st_ino) && entry.uid == file.st_uid && entry.gid == file.st_gid
    }
}
