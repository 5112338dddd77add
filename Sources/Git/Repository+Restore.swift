import Clibgit2
#if canImport(Glibc)
import Glibc
#endif

extension Repository {
    /// Puts back the files of `changes` (HEAD's tree to the target's) in the work tree and
    /// `index`, as `git reset --hard` would, by writing only them: for a work tree known to hold
    /// HEAD's files (a `WorkTreeWatch` saw nothing change) and an index known to hold HEAD's tree.
    /// libgit2's checkout of the same paths reads each one's directory, attributes and filters
    /// first, which costs more than the writes.
    ///
    /// Only plain cases are handled: regular files on both sides, no filter on any path written
    /// (line endings, `ident`, a filter driver), no `.git*` name, nothing in the way of a file to
    /// create, no parent directory that is not a directory. Returns false, having changed nothing,
    /// for anything else: libgit2's checkout then does it all. Writes as git does: a changed file
    /// is removed and made again (so a hard link to it keeps the old content), with mode 0666 or
    /// 0777 less the umask; a removed file's directories go while they are empty. The caller
    /// writes the index.
    func restoreFiles(_ changes: [TreeChange], into index: OpaquePointer?, workdir: String) throws -> Bool {
        guard try canRestoreFiles(changes, workdir: workdir) else { return false }
        for change in changes where change.new == nil {
            let path = workdir + change.path
            guard unlink(path) == 0 || errno == ENOENT else { throw GitError.system("remove \(change.path)") }
            var directory = Substring(change.path)
            while let slash = directory.lastIndex(of: "/") {
                directory = directory[..<slash]
                if rmdir(workdir + directory) != 0 { break }
            }
            try check(git_index_remove(index, change.path, 0), "unstage \(change.path)")
        }
        for change in changes {
            guard let entry = change.new else { continue }
            try writeFile(change.path, from: entry, into: index, workdir: workdir)
        }
        return true
    }

    /// Whether `restoreFiles` writes all of `changes` itself (see there); reads no file.
    func canRestoreFiles(_ changes: [TreeChange], workdir: String) throws -> Bool {
        try changes.allSatisfy { try isPlainRestore($0, workdir: workdir) }
    }

    private func isPlainRestore(_ change: TreeChange, workdir: String) throws -> Bool {
        guard Self.isPlainPath(change.path) else { return false }
        for side in [change.old, change.new] {
            if let side, side.mode != .blob, side.mode != .executable { return false }
        }
        var status = stat()
        let path = workdir + change.path
        if change.old != nil {
            // HEAD's file is there (the caller knows it holds HEAD's content).
            guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return false }
        } else if lstat(path, &status) == 0 || errno != ENOENT {
            return false
        }
        guard change.new != nil else { return true }
        var prefix = workdir
        for component in change.path.split(separator: "/").dropLast() {
            prefix += component
            if lstat(prefix, &status) == 0 {
                guard status.st_mode & S_IFMT == S_IFDIR else { return false }
            } else if errno != ENOENT {
                return false
            }
            prefix += "/"
        }
        var filters: OpaquePointer?
        try check(git_filter_list_load(&filters, pointer, nil, change.path, GIT_FILTER_TO_WORKTREE, GIT_FILTER_DEFAULT.rawValue),
                  "read the filters of \(change.path)")
        git_filter_list_free(filters)
        return filters == nil
    }

    /// Writes the blob of `entry` to `path` (made again, its directories made as needed) and puts
    /// the file in `index` with its new stat data.
    private func writeFile(_ path: String, from entry: TreeEntry, into index: OpaquePointer?, workdir: String) throws {
        let content = try blob(entry.id)
        let full = workdir + path
        var prefix = workdir
        for component in path.split(separator: "/").dropLast() {
            prefix += component
            guard mkdir(prefix, 0o777) == 0 || errno == EEXIST else { throw GitError.system("make the directory of \(path)") }
            prefix += "/"
        }
        guard unlink(full) == 0 || errno == ENOENT else { throw GitError.system("remove \(path)") }
        let descriptor = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, entry.mode == .executable ? 0o777 : 0o666)
        guard descriptor >= 0 else { throw GitError.system("create \(path)") }
        defer { close(descriptor) }
        var written = 0
        while written < content.count {
            let count = content[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw GitError.system("write \(path)") }
            written += count
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw GitError.system("read the stat data of \(path)") }
        try path.withCString { cPath in
            var indexEntry = git_index_entry()
            indexEntry.ctime = git_index_time(seconds: Int32(truncatingIfNeeded: status.st_ctim.tv_sec),
                                              nanoseconds: UInt32(truncatingIfNeeded: status.st_ctim.tv_nsec))
            indexEntry.mtime = git_index_time(seconds: Int32(truncatingIfNeeded: status.st_mtim.tv_sec),
                                              nanoseconds: UInt32(truncatingIfNeeded: status.st_mtim.tv_nsec))
            // As libgit2 fills it from a stat (`st_rdev`), so its status finds the entry unchanged.
            indexEntry.dev = UInt32(truncatingIfNeeded: status.st_rdev)
            indexEntry.ino = UInt32(truncatingIfNeeded: status.st_ino)
            indexEntry.mode = entry.mode.rawValue
            indexEntry.uid = status.st_uid
            indexEntry.gid = status.st_gid
            indexEntry.file_size = UInt32(truncatingIfNeeded: status.st_size)
            indexEntry.id = entry.id.raw
            indexEntry.path = cPath
            // The blob was just read: libgit2 need not look it up again.
            try check(ObjectValidation.suspended { git_index_add(index, &indexEntry) }, "stage \(path)")
        }
    }
}
