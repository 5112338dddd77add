import Clibgit2
#if canImport(Glibc)
import Glibc
#endif

/// One changed path in the work tree or index, as `git status` would list it.
public struct StatusEntry: Sendable, Equatable {
    public let path: String
    /// libgit2's `git_status_t` bits.
    public let flags: UInt32

    /// True for a file git does not track yet (and does not ignore).
    public var isUntracked: Bool { flags & GIT_STATUS_WT_NEW.rawValue != 0 }

    /// True for a tracked file whose content or type in the work tree differs from the index's.
    var isModifiedInWorkTree: Bool { flags & (GIT_STATUS_WT_MODIFIED.rawValue | GIT_STATUS_WT_TYPECHANGE.rawValue) != 0 }

    /// True when the work tree side is a new, modified or deleted file, or nothing (a change
    /// staged already): what `stage(_:)` takes without looking at the work tree again.
    public var isPlainChange: Bool {
        let plain = GIT_STATUS_WT_NEW.rawValue | GIT_STATUS_WT_MODIFIED.rawValue | GIT_STATUS_WT_DELETED.rawValue
            | GIT_STATUS_INDEX_NEW.rawValue | GIT_STATUS_INDEX_MODIFIED.rawValue | GIT_STATUS_INDEX_DELETED.rawValue
        return flags & ~plain == 0
    }
}

/// The changes of a work tree, and whether the stat data the index caches went stale.
public struct WorkTreeStatus: Sendable {
    public let entries: [StatusEntry]
    /// How many files the scan read to find them unchanged.
    let unchangedFilesRead: Int
    /// True when files had to be read to find them unchanged (their timestamps moved, their
    /// contents did not): `refreshIndex()` spares every later scan that work.
    public var hasStaleStatData: Bool { unchangedFilesRead > 0 }

    init(entries: [StatusEntry], unchangedFilesRead: Int) {
        self.entries = entries
        self.unchangedFilesRead = unchangedFilesRead
    }

    /// The changes a scan found after reading `filesRead` files to compare them: each file read
    /// either turned out modified (listed) or unchanged.
    init(entries: [StatusEntry], filesRead: Int) {
        self.init(entries: entries, unchangedFilesRead: max(0, filesRead - entries.filter(\.isModifiedInWorkTree).count))
    }

    /// This status, the racily clean entries of `index` not counted as stale: an entry as new as
    /// the index file (written in the same clock tick, as a checkout or the agent writes files
    /// just before the index) is read by every scan whatever its stat data, until the next write
    /// of the index makes it older than the index. A refresh, which writes the whole index, would
    /// buy nothing the next write does not (once an iteration, in a loop; a 4 MB index on 50,000 files).
    func discountingRacilyClean(in index: OpaquePointer?, workdir: String) -> WorkTreeStatus {
        guard unchangedFilesRead > 0, let path = git_index_path(index) else { return self }
        var indexFile = stat()
        guard stat(path, &indexFile) == 0 else { return self }
        let modified = Set(entries.lazy.filter(\.isModifiedInWorkTree).map(\.path))
        var racy = 0
        for position in 0..<git_index_entrycount(index) {
            guard let entry = git_index_get_byindex(index, position)?.pointee,
                  Self.isAtOrAfter(seconds: Int(entry.mtime.seconds), nanoseconds: Int(entry.mtime.nanoseconds), indexFile.st_mtim) else { continue }
            // Racily clean only while the file is as the entry caches it (a touch since is stale data).
            let name = String(cString: entry.path)
            var file = stat()
            guard !modified.contains(name), stat(workdir + name, &file) == 0, file.st_size == Int(entry.file_size),
                  file.st_mtim.tv_sec == Int(entry.mtime.seconds), file.st_mtim.tv_nsec == Int(entry.mtime.nanoseconds) else { continue }
            racy += 1
        }
        return WorkTreeStatus(entries: entries, unchangedFilesRead: max(0, unchangedFilesRead - racy))
    }

    /// Whether a time cached in an index entry is `time` or later: for `time` the index file's
    /// own, an entry cached in the tick the index was written, whose file may have changed in
    /// that tick without its stat data showing it (git's "racy git").
    static func isAtOrAfter(seconds: Int, nanoseconds: Int, _ time: timespec) -> Bool {
        seconds > time.tv_sec || (seconds == time.tv_sec && nanoseconds >= time.tv_nsec)
    }
}

/// That the index file whose checksum (its last 20 bytes, a SHA-1 of the rest) is `checksum`
/// holds exactly the entries of `tree`: paths, modes and ids, stat data aside. Equal checksums
/// mean byte-identical index files, so the fact holds for as long as the index keeps that
/// checksum, in this process or a later one; any write of the index (`git add`, a refresh by
/// `git status`) changes the checksum and voids it.
public struct IndexMatch: Sendable, Equatable {
    public let checksum: OID
    public let tree: OID

    /// The fact as one line, "CHECKSUM TREE", to keep it for a later process.
    public var recorded: String { "\(checksum.hex) \(tree.hex)\n" }

    /// The fact `recorded` wrote; nil for anything else (a torn or foreign line).
    public init?(recorded: String) {
        let fields = recorded.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let checksum = OID(hex: String(fields[0])), let tree = OID(hex: String(fields[1])) else { return nil }
        self.init(checksum: checksum, tree: tree)
    }

    init(checksum: OID, tree: OID) {
        self.checksum = checksum
        self.tree = tree
    }
}

extension Repository {
    /// The changes in the index and work tree, untracked files included, ignored files and
    /// submodules left out.
    public func status() throws -> [StatusEntry] { try workTreeStatus().entries }

    /// `status()`, with whether the index's stat data went stale (one scan of the work tree, on
    /// two threads from `parallelScanFrom` index entries: `readStatusOnTwoThreads`). When
    /// `indexMatch` vouches that the index holds HEAD's tree, HEAD is not compared with the index
    /// (a read of every tree of HEAD: 15 ms on 50,000 files).
    ///
    /// `limitedTo`: the only paths that may have changed since the index was written, as a
    /// `WorkTreeWatch` names them (a directory's, ending in "/", standing for what is under it);
    /// only they are looked at, when the index is known to hold HEAD's tree (else, and when a
    /// path is not UTF-8, the whole work tree is), file by file when all are plain files
    /// (`statusOfFiles`), else by libgit2's status limited to them.
    public func workTreeStatus(limitedTo paths: [String]? = nil,
                               parallelScanFrom threshold: Int = Repository.parallelScanThreshold) throws -> WorkTreeStatus {
        let index = try openIndex()
        defer { git_index_free(index) }
        let holdingHead = try indexHoldsHead(index)
        if let paths, holdingHead, !paths.contains(where: { $0.isEmpty || $0.contains("\u{FFFD}") }) {
            guard !paths.isEmpty, let workdir else { return WorkTreeStatus(entries: [], unchangedFilesRead: 0) }
            let status = try statusOfFiles(paths, in: index, workdir: workdir)
                ?? readStatus(show: GIT_STATUS_SHOW_WORKDIR_ONLY, flags: GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH.rawValue, paths: paths)
            return status.discountingRacilyClean(in: index, workdir: workdir)
        }
        return try status(of: index, holdingHead: holdingHead, parallelScanFrom: threshold)
    }

    /// The status of the work tree against `index`, and of `index` against HEAD unless it is
    /// known to hold HEAD's tree.
    private func status(of index: OpaquePointer?, holdingHead: Bool, parallelScanFrom threshold: Int) throws -> WorkTreeStatus {
        let show = holdingHead ? GIT_STATUS_SHOW_WORKDIR_ONLY : GIT_STATUS_SHOW_INDEX_AND_WORKDIR
        let status = try readStatusOnTwoThreads(show: show, index: index, threshold: threshold) ?? readStatus(show: show, flags: 0, paths: [])
        return workdir.map { status.discountingRacilyClean(in: index, workdir: $0) } ?? status
    }

    /// The index, read again from its file if that changed.
    func openIndex() throws -> OpaquePointer? {
        var index: OpaquePointer?
        try check(git_repository_index(&index, pointer), "open the index")
        let code = git_index_read(index, 0)
        if code < 0 { git_index_free(index) }
        try check(code, "read the index")
        return index
    }

    /// True when `indexMatch` vouches for `index` as it is and its tree is HEAD's.
    private func indexHoldsHead(_ index: OpaquePointer?) throws -> Bool {
        guard let match = indexMatch, let checksum = git_index_checksum(index), OID(checksum.pointee) == match.checksum,
              let head = try head().target else { return false }
        let commit = try lookupObject(head, type: GIT_OBJECT_COMMIT)
        defer { git_object_free(commit) }
        return OID(git_commit_tree_id(commit)!.pointee) == match.tree
    }

    /// Writes `index` to its file, then as a tree; records that they match (`indexMatch`).
    /// `stagedOntoHead`: `index` held HEAD's tree (`head`) before the caller staged these paths
    /// from the work tree into it, so the tree is HEAD's with their entries
    /// (`tree(of:stagedIn:onto:)`), and the entries that differ from HEAD name blobs just written.
    private func writeIndexAndTree(_ index: OpaquePointer?, stagedOntoHead: (paths: [String], head: OID)?) throws -> OID {
        try check(git_index_write(index), "write the index")
        let tree = try stagedOntoHead.map { try self.tree(of: $0.paths, stagedIn: index, onto: $0.head) } ?? writeTree(of: index)
        indexMatch = IndexMatch(checksum: OID(git_index_checksum(index)!.pointee), tree: tree)
        return tree
    }

    /// A status of `show`, untracked files listed one by one, ignored files and submodules left
    /// out, with `flags` added; limited to `paths` (exact paths, a directory standing for what
    /// is under it) unless empty.
    func readStatus(show: git_status_show_t, flags: UInt32, paths: [String]) throws -> WorkTreeStatus {
        var options = git_status_options()
        try check(git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION)), "prepare status")
        options.show = show
        options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue
            | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
            | GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue
            | flags
        var list: OpaquePointer?
        try withStrArray(paths) { pathspec in
            options.pathspec = pathspec
            try check(git_status_list_new(&list, pointer, &options), "read status")
        }
        defer { git_status_list_free(list) }
        var entries: [StatusEntry] = []
        for index in 0..<git_status_list_entrycount(list) {
            guard let entry = git_status_byindex(list, index)?.pointee else { continue }
            let delta = entry.index_to_workdir ?? entry.head_to_index
            let path = delta.flatMap { $0.pointee.new_file.path ?? $0.pointee.old_file.path }
            entries.append(StatusEntry(path: path.map { String(cString: $0) } ?? "", flags: entry.status.rawValue))
        }
        var performance = git_diff_perfdata()
        performance.version = UInt32(GIT_DIFF_PERFDATA_VERSION)
        try check(git_status_list_get_perfdata(&performance, list), "read status counters")
        return WorkTreeStatus(entries: entries, filesRead: performance.oid_calculations)
    }

    /// Whether `path` differs between HEAD, index and work tree (untracked included), without
    /// scanning the rest of the work tree.
    public func isChanged(path: String) throws -> Bool {
        var flags: UInt32 = 0
        let code = git_status_file(&flags, pointer, path)
        if code == GIT_ENOTFOUND.rawValue { return false }
        try check(code, "read the status of \(path)")
        return flags & ~GIT_STATUS_IGNORED.rawValue != 0
    }

    /// Stages every change in the work tree (new, modified and deleted files, not ignored ones)
    /// but those at `excluded` paths, which keep what the index had, and writes the index as a
    /// tree; returns that tree's id.
    public func stageAll(excluding excluded: Set<String> = []) throws -> OID {
        var index: OpaquePointer?
        try check(git_repository_index(&index, pointer), "open the index")
        defer { git_index_free(index) }
        final class Excluded {
            let paths: Set<String>
            init(_ paths: Set<String>) { self.paths = paths }
        }
        let payload = Unmanaged.passRetained(Excluded(excluded))
        defer { payload.release() }
        // libgit2 stages a path when the callback returns 0 and skips it when it returns more.
        let skipExcluded: git_index_matched_path_cb = { path, _, payload in
            guard let path else { return 0 }
            return Unmanaged<Excluded>.fromOpaque(payload!).takeUnretainedValue().paths.contains(String(cString: path)) ? 1 : 0
        }
        let callback = excluded.isEmpty ? nil : skipExcluded
        try withStrArray([]) { paths in
            try check(git_index_add_all(index, &paths, GIT_INDEX_ADD_DEFAULT.rawValue, callback, payload.toOpaque()),
                      "stage new and changed files")
            try check(git_index_update_all(index, &paths, callback, payload.toOpaque()), "stage deleted files")
        }
        return try writeIndexAndTree(index, stagedOntoHead: nil)
    }

    /// Stages the work tree side of `changes`, a `status()` taken just before whose entries are
    /// all `isPlainChange`: new and modified files are added, deleted ones removed. Writes the
    /// index and returns its tree, like `stageAll` without a second scan of the work tree.
    public func stage(_ changes: [StatusEntry]) throws -> OID {
        let index = try openIndex()
        defer { git_index_free(index) }
        let head = try indexHoldsHead(index) ? indexMatch?.tree : nil
        var staged: [String] = []
        for change in changes {
            if change.flags & GIT_STATUS_WT_DELETED.rawValue != 0 {
                try check(git_index_remove_bypath(index, change.path), "unstage deleted \(change.path)")
            } else if change.flags & (GIT_STATUS_WT_NEW.rawValue | GIT_STATUS_WT_MODIFIED.rawValue) != 0 {
                try check(git_index_add_bypath(index, change.path), "stage \(change.path)")
            } else {
                continue
            }
            staged.append(change.path)
        }
        return try writeIndexAndTree(index, stagedOntoHead: head.map { (staged, $0) })
    }

    /// Writes `index` as a tree (`git write-tree`). libgit2 1.5 rebuilds every subtree and, with
    /// strict object creation on (its default), reads the header of every entry's object to check
    /// that it exists with the entry's type: one loose object opened and inflated per file of the
    /// work tree. So the check is off for this write (the trees are still hashed and written), and
    /// instead, as git does, the blobs of the entries that differ from HEAD's tree must exist
    /// first: an index entry can name any id (`git update-index --cacheinfo`, then kept by
    /// `--skip-worktree`), and a tree naming a missing blob breaks `git fsck`.
    func writeTree(of index: OpaquePointer?) throws -> OID {
        try checkStagedBlobsExist(index)
        var tree = git_oid()
        let code = ObjectValidation.suspended { git_index_write_tree(&tree, index) }
        try check(code, "write the index as a tree")
        return OID(tree)
    }

    /// Throws naming the first entry of `index` that differs from HEAD's tree and names a blob
    /// the object database does not have (compares ids only: no file or blob is read).
    private func checkStagedBlobsExist(_ index: OpaquePointer?) throws {
        let headTree = try head().target.flatMap { try lookupObject(try commit($0).tree, type: GIT_OBJECT_TREE) }
        defer { git_object_free(headTree) }
        var diff: OpaquePointer?
        try check(git_diff_tree_to_index(&diff, pointer, headTree, index, nil), "compare HEAD with the index")
        defer { git_diff_free(diff) }
        try withObjectDatabase { database in
            for position in 0..<git_diff_num_deltas(diff) {
                guard let delta = git_diff_get_delta(diff, position)?.pointee, delta.status != GIT_DELTA_DELETED else { continue }
                var file = delta.new_file
                guard file.mode != UInt16(GIT_FILEMODE_COMMIT.rawValue), git_odb_exists(database, &file.id) != 1 else { continue }
                let path = file.path.map { String(cString: $0) } ?? ""
                throw GitError(.notFound, operation: "write the index as a tree",
                               message: "the index names object \(OID(file.id).hex) for '\(path)', which this repository does not have (git write-tree refuses it too); remove it from the index: git update-index --force-remove -- '\(path)'")
            }
        }
    }

    /// Updates one path of the index from the work tree (`git add PATH`) and writes the index.
    public func stage(path: String) throws {
        var index: OpaquePointer?
        try check(git_repository_index(&index, pointer), "open the index")
        defer { git_index_free(index) }
        try check(git_index_add_bypath(index, path), "stage \(path)")
        try check(git_index_write(index), "write the index")
    }

    /// Moves HEAD's branch to `commit` and makes index and work tree match it, like
    /// `git reset --hard`. Untracked files stay; files tracked only by the old tree go.
    ///
    /// Does what libgit2's `git_reset` does (a forced checkout, HEAD's reference moved with the
    /// reflog entry "reset: moving to", the state of a merge or rebase cleaned up), with less work:
    /// * From `threshold` index entries, when `indexMatch` vouches that the index holds HEAD's
    ///   tree, the checkout is limited to the paths HEAD's tree and the target differ in and the
    ///   tracked files changed on disk (a status, on two threads, where the checkout scans on
    ///   one); the index then holds the target's tree, which writing it as a tree confirms.
    /// * With `workTreeHoldsHead` (the caller knows, from a `WorkTreeWatch`, that the work tree
    ///   holds HEAD's files and no untracked file it did not already see), the same at any size,
    ///   without the status: only the paths HEAD's tree and the target differ in are written, by
    ///   `restoreFiles` when they are plain files (then the index's entries for them follow from
    ///   the trees, with no confirmation).
    /// * The index is read from the tree and written a second time only when the checkout left
    ///   it different from the tree (it held changes of its own, a `git add` since the snapshot).
    ///
    /// Returns the untracked paths the reset saw (an untracked directory may come as one path
    /// ending in `/`; none with `workTreeHoldsHead`): after it, the work tree holds `commit`'s
    /// files and these, nothing else.
    @discardableResult
    public func resetHard(to commit: OID, workTreeHoldsHead: Bool = false,
                          limitingCheckoutFrom threshold: Int = Repository.parallelScanThreshold) throws -> [String] {
        let object = try lookupObject(commit, type: GIT_OBJECT_COMMIT)
        defer { git_object_free(object) }
        var tree: OpaquePointer?
        try check(git_commit_tree(&tree, object), "read the tree of \(commit.short)")
        defer { git_tree_free(tree) }
        let target = OID(git_tree_id(tree)!.pointee)
        let index = try openIndex()
        defer { git_index_free(index) }
        var options = git_checkout_options()
        try check(git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)), "prepare checkout")
        options.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue
        let untracked = PathCollector()
        untracked.collect(GIT_CHECKOUT_NOTIFY_UNTRACKED, of: &options)
        var confirmed = false
        if workTreeHoldsHead || git_index_entrycount(index) >= threshold, try indexHoldsHead(index), let head = indexMatch?.tree {
            options.notify_flags = 0
            var changedOnDisk: [String] = []
            if !workTreeHoldsHead {
                let onDisk = try status(of: index, holdingHead: true, parallelScanFrom: threshold).entries
                changedOnDisk = onDisk.filter { !$0.isUntracked }.map(\.path)
                // The limited checkout sees only its paths: the status saw the untracked files, but
                // for those the target tracks, which the checkout writes over.
                untracked.paths = try onDisk.filter(\.isUntracked).map(\.path).filter { try entry(inTree: target, path: $0) == nil }
            }
            let changes = try treeChanges(from: head, to: target)
            if workTreeHoldsHead, let workdir, try restoreFiles(changes, into: index, workdir: workdir) {
                try check(git_index_write(index), "write the index")
                confirmed = true
            } else {
                let paths = Set(changes.map(\.path) + changedOnDisk).sorted()
                // A path that is not UTF-8 reached Swift with its bytes replaced: only a full
                // checkout finds its file.
                if paths.contains(where: { $0.contains("\u{FFFD}") }) {
                    try check(git_checkout_tree(pointer, object, &options), "reset --hard to \(commit.short)")
                } else if !paths.isEmpty {
                    options.checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH.rawValue
                    try withStrArray(paths) { pathspec in
                        options.paths = pathspec
                        try check(git_checkout_tree(pointer, object, &options), "reset --hard to \(commit.short)")
                    }
                }
                var written = git_oid()
                confirmed = ObjectValidation.suspended { git_index_write_tree(&written, index) } == 0 && OID(written) == target
            }
        } else {
            try check(git_checkout_tree(pointer, object, &options), "reset --hard to \(commit.short)")
        }
        try moveHead(to: commit, message: "reset: moving to \(commit.hex)")
        if try !confirmed && !indexMatches(index, tree: tree) {
            try check(git_index_read_tree(index, tree), "read \(commit.short) into the index")
            try check(git_index_write(index), "write the index")
        }
        indexMatch = IndexMatch(checksum: OID(git_index_checksum(index)!.pointee), tree: target)
        try check(git_repository_state_cleanup(pointer), "clean up the state of a merge or rebase")
        return untracked.paths
    }

    /// Moves the branch HEAD is on (HEAD itself when detached) to `commit`, compare-and-swap
    /// against where it was, with a reflog entry in both.
    private func moveHead(to commit: OID, message: String) throws {
        try prepareReflogIdentity()
        var head: OpaquePointer?
        try check(git_repository_head(&head, pointer), "read HEAD")
        defer { git_reference_free(head) }
        var moved: OpaquePointer?
        var target = commit.raw
        try check(git_reference_set_target(&moved, head, &target, message), "move HEAD to \(commit.short)")
        git_reference_free(moved)
    }

    /// True when `index` has, at stage 0 only, exactly the paths, modes and ids of `tree` (stat
    /// data aside); compares ids, reads no file.
    private func indexMatches(_ index: OpaquePointer?, tree: OpaquePointer?) throws -> Bool {
        guard git_index_has_conflicts(index) == 0 else { return false }
        var diff: OpaquePointer?
        try check(git_diff_tree_to_index(&diff, pointer, tree, index, nil), "compare the index with the tree")
        defer { git_diff_free(diff) }
        return git_diff_num_deltas(diff) == 0
    }

    /// Checks out `treeish` (a commit or a tree) into index and work tree without overwriting
    /// anything: a file the checkout would change or remove that differs from `baseline` (the
    /// tree the work tree is expected to hold; nil: HEAD's), or an untracked file in the way,
    /// blocks it. Returns the blocking paths; when there are any, nothing was written.
    public func checkoutSafely(_ treeish: OID, from baseline: OID? = nil) throws -> [String] {
        let object = try lookupObject(treeish, type: GIT_OBJECT_ANY)
        defer { git_object_free(object) }
        let baselineTree = try baseline.flatMap { try lookupObject($0, type: GIT_OBJECT_TREE) }
        defer { git_object_free(baselineTree) }
        let blocked = PathCollector()
        var options = git_checkout_options()
        try check(git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)), "prepare checkout")
        options.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue
        options.baseline = baselineTree
        blocked.collect(GIT_CHECKOUT_NOTIFY_CONFLICT, of: &options)
        let code = git_checkout_tree(pointer, object, &options)
        if code == GIT_ECONFLICT.rawValue, !blocked.paths.isEmpty { return blocked.paths }
        try check(code, "check out \(treeish.short)")
        return []
    }

    /// Switches to an existing branch: checks out its commit without overwriting anything
    /// (`checkoutSafely`), then moves HEAD.
    public func switchToBranch(_ name: ReferenceName) throws {
        guard let target = try referenceTarget(name) else {
            throw GitError(.notFound, operation: "switch to \(name)", message: "no such branch")
        }
        let blocked = try checkoutSafely(target)
        guard blocked.isEmpty else {
            throw GitError(.conflict, operation: "switch to \(name)", message: "it would overwrite \(blocked.joined(separator: ", "))")
        }
        try setHead(toBranch: name)
    }

    func lookupObject(_ id: OID, type: git_object_t) throws -> OpaquePointer? {
        var object: OpaquePointer?
        var raw = id.raw
        try check(git_object_lookup(&object, pointer, &raw, type), "look up \(id.short)")
        return object
    }
}

/// The paths of a checkout's notifications of one kind.
private final class PathCollector {
    var paths: [String] = []

    /// Makes the checkout of `options` notify this collector of the paths `kind` concerns; it
    /// must outlive the checkout.
    func collect(_ kind: git_checkout_notify_t, of options: inout git_checkout_options) {
        options.notify_flags = kind.rawValue
        options.notify_cb = { _, path, _, _, _, payload in
            if let path { Unmanaged<PathCollector>.fromOpaque(payload!).takeUnretainedValue().paths.append(String(cString: path)) }
            return 0
        }
        options.notify_payload = Unmanaged.passUnretained(self).toOpaque()
    }
}
