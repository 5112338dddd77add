import Clibgit2
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The status of a large work tree on two threads, as git's `core.preloadIndex` checks files on
/// several: libgit2's status scans on one. The work tree is cut into two lists of paths (files
/// and directories, each path of the tree under exactly one of them) holding about as many index
/// entries each; this repository compares one with its index, a second handle on the same
/// repository (its own caches of attributes, objects and configuration) compares the other with
/// the same index object, and the answers are joined.
///
/// The second handle uses this handle's index as its own (`git_repository_set_index`), so the
/// index file is read once, by this handle, and what this handle writes to it is what the
/// second handle sees. libgit2 objects are not meant to be shared between threads; the index is
/// shared only to be read while both threads run: each takes libgit2's snapshot of its entries
/// (an atomic count of readers, a copy of the list), the entries are sorted before they start,
/// and nothing writes the index (no refresh from its file, no update of its stat data) until
/// both are done.
extension Repository {
    /// The index entries from which `workTreeStatus` scans on two threads: below, a second
    /// thread costs more than it saves.
    public static let parallelScanThreshold = 10_000
    /// Whether a second thread can run beside this one (glibc reads /sys for the count: once).
    private static let hasSeveralCores = sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1

    /// The status of `show` (untracked files one by one, ignored files and submodules left out)
    /// against `index`, this handle's index, scanned on two threads; nil when the index has fewer
    /// than `threshold` entries, the machine has one core, or the tree does not divide.
    func readStatusOnTwoThreads(show: git_status_show_t, index: OpaquePointer?, threshold: Int) throws -> WorkTreeStatus? {
        guard git_index_entrycount(index) >= threshold, Self.hasSeveralCores, let workdir,
              git_index_owner(index) == pointer else { return nil }
        guard let (mine, theirs) = try halves(of: index, workdir: workdir) else { return nil }
        // HEAD against the index as the caller read it (no file of the work tree is read).
        let staged = show == GIT_STATUS_SHOW_WORKDIR_ONLY ? []
            : try readStatus(show: GIT_STATUS_SHOW_INDEX_ONLY, flags: GIT_STATUS_OPT_NO_REFRESH.rawValue, paths: []).entries
        // Sorts the entries if a write left them unsorted: each thread's snapshot would sort them.
        _ = git_index_find_prefix(nil, index, "")
        final class Helper: @unchecked Sendable {
            let repository: Repository
            let index: OpaquePointer?
            var status: Result<WorkTreeStatus, Error>?
            init(_ repository: Repository, _ index: OpaquePointer?) { (self.repository, self.index) = (repository, index) }
        }
        let helper = Helper(try statusHelper(workdir: workdir, index: index), index)
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            helper.status = Result { try helper.repository.workdirStatus(against: helper.index, paths: theirs) }
        }
        let own = Result { try workdirStatus(against: index, paths: mine) }
        done.wait()
        let first = try own.get(), second = try helper.status!.get()
        var flags: [String: UInt32] = [:]
        for entry in staged + first.entries + second.entries { flags[entry.path, default: 0] |= entry.flags }
        let entries = flags.map { StatusEntry(path: $0.key, flags: $0.value) }.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        return WorkTreeStatus(entries: entries, unchangedFilesRead: first.unchangedFilesRead + second.unchangedFilesRead)
    }

    /// The changes of the work tree at `paths` (exact paths, a directory standing for what is
    /// under it) against `index`, which may belong to another handle, as `readStatus` shows them
    /// with `GIT_STATUS_SHOW_WORKDIR_ONLY`; `index` is only read.
    func workdirStatus(against index: OpaquePointer?, paths: [String]) throws -> WorkTreeStatus {
        var options = git_diff_options()
        try check(git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION)), "prepare status")
        // The options `git_status_list_new` gives its diff for the flags `readStatus` sets.
        options.flags = GIT_DIFF_INCLUDE_TYPECHANGE.rawValue | GIT_DIFF_INCLUDE_UNTRACKED.rawValue
            | GIT_DIFF_RECURSE_UNTRACKED_DIRS.rawValue | GIT_DIFF_IGNORE_SUBMODULES.rawValue | GIT_DIFF_DISABLE_PATHSPEC_MATCH.rawValue
        var diff: OpaquePointer?
        try withStrArray(paths) { pathspec in
            options.pathspec = pathspec
            try check(git_diff_index_to_workdir(&diff, pointer, index, &options), "read status")
        }
        defer { git_diff_free(diff) }
        var entries: [StatusEntry] = []
        for position in 0..<git_diff_num_deltas(diff) {
            guard let delta = git_diff_get_delta(diff, position)?.pointee else { continue }
            // A submodule on both sides is left out, as the status leaves it out.
            let submodule = GIT_FILEMODE_COMMIT.rawValue
            guard (delta.status != GIT_DELTA_ADDED && delta.old_file.mode != submodule)
                    || (delta.status != GIT_DELTA_DELETED && delta.new_file.mode != submodule) else { continue }
            entries.append(StatusEntry(path: String(cString: delta.new_file.path ?? delta.old_file.path), flags: Self.workdirFlags(delta.status)))
        }
        var performance = git_diff_perfdata()
        performance.version = UInt32(GIT_DIFF_PERFDATA_VERSION)
        try check(git_diff_get_perfdata(&performance, diff), "read status counters")
        return WorkTreeStatus(entries: entries, filesRead: performance.oid_calculations)
    }

    /// The status bits of a change between the index and the work tree, as libgit2's status gives them.
    private static func workdirFlags(_ change: git_delta_t) -> UInt32 {
        switch change {
        case GIT_DELTA_ADDED, GIT_DELTA_COPIED, GIT_DELTA_UNTRACKED: GIT_STATUS_WT_NEW.rawValue
        case GIT_DELTA_UNREADABLE: GIT_STATUS_WT_UNREADABLE.rawValue
        case GIT_DELTA_DELETED: GIT_STATUS_WT_DELETED.rawValue
        case GIT_DELTA_MODIFIED: GIT_STATUS_WT_MODIFIED.rawValue
        case GIT_DELTA_IGNORED: GIT_STATUS_IGNORED.rawValue
        case GIT_DELTA_RENAMED: GIT_STATUS_WT_RENAMED.rawValue
        case GIT_DELTA_TYPECHANGE: GIT_STATUS_WT_TYPECHANGE.rawValue
        case GIT_DELTA_CONFLICTED: GIT_STATUS_CONFLICTED.rawValue
        default: GIT_STATUS_CURRENT.rawValue
        }
    }

    /// The second handle of `readStatusOnTwoThreads`, kept for the next status (a loop's), with
    /// `index` (this handle's) as its index.
    private func statusHelper(workdir: String, index: OpaquePointer?) throws -> Repository {
        let helper: Repository
        if let statusHelperHandle {
            helper = statusHelperHandle
            var current: OpaquePointer?
            try check(git_repository_index(&current, helper.pointer), "open the index")
            git_index_free(current)
            if current == index { return helper }
        } else {
            helper = try Repository(path: gitDirectory)
            try check(git_repository_set_workdir(helper.pointer, workdir, 0), "use \(workdir) as the work tree")
            statusHelperHandle = helper
        }
        // `set_index` makes the helper the index's owner (the repository its writes use): this
        // handle takes it back, dropping its reference and taking it again (`index` holds one).
        try check(git_repository_set_index(helper.pointer, index), "share the index")
        try check(git_repository_set_index(pointer, nil), "share the index")
        try check(git_repository_set_index(pointer, index), "share the index")
        return helper
    }

    /// Two lists of paths that together hold every path of the work tree, the index and HEAD
    /// once (a directory standing for what is under it), with about as many index entries under
    /// each; nil when no cut gets either list a quarter of them. Directories holding more than
    /// half the entries are opened, down to four levels; an opened directory's children are the
    /// names in its index entries, on disk (untracked ones) and in HEAD's tree (unstaged ones).
    func halves(of index: OpaquePointer?, workdir: String) throws -> ([String], [String])? {
        let total = git_index_entrycount(index)
        let headTree = try head().target.flatMap { try lookupObject(try commit($0).tree, type: GIT_OBJECT_TREE) }
        defer { git_object_free(headTree) }
        guard var units = Self.children(of: "", index: index, workdir: workdir, headTree: headTree) else { return nil }
        for _ in 0..<4 {
            guard let biggest = units.indices.max(by: { units[$0].entries < units[$1].entries }),
                  units[biggest].entries * 2 > total, units[biggest].isDirectory else { break }
            let opened = units.remove(at: biggest)
            guard let children = Self.children(of: opened.path + "/", index: index, workdir: workdir, headTree: headTree) else { return nil }
            units += children
        }
        units.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        var first = 0, cut = 0
        while cut < units.count, (first + units[cut].entries) * 2 <= total {
            first += units[cut].entries
            cut += 1
        }
        // The unit that crosses the middle goes where it balances best.
        if cut < units.count, (first + units[cut].entries) * 2 - total < total - first * 2 {
            first += units[cut].entries
            cut += 1
        }
        guard first * 4 >= total, (total - first) * 4 >= total else { return nil }
        return (units[..<cut].map(\.path), units[cut...].map(\.path))
    }

    /// The names directly under `directory` ("" for the top, else ending in "/") in the index, on
    /// disk (`.git` left out) and in `headTree`, each with how many index entries it holds and
    /// whether it is a directory (in any of the three); nil when a name is not UTF-8 (a path
    /// given to libgit2 must be its bytes).
    private static func children(of directory: String, index: OpaquePointer?, workdir: String, headTree: OpaquePointer?)
        -> [(path: String, entries: Int, isDirectory: Bool)]? {
        var found: [String: (entries: Int, isDirectory: Bool)] = [:]
        guard let inHead = treeNames(headTree, at: directory) else { return nil }
        for (name, isTree) in inHead {
            found[name, default: (0, false)].isDirectory = found[name]?.isDirectory == true || isTree
        }
        let prefix = Array(directory.utf8)
        var position = 0
        if !prefix.isEmpty, git_index_find_prefix(&position, index, directory) != 0 { position = git_index_entrycount(index) }
        // The index is sorted: the entries under one name follow each other, so a name is made
        // into a String once, not once per entry.
        var run: (name: UnsafeRawBufferPointer, key: String, entries: Int, isDirectory: Bool)?
        func endRun() {
            guard let run else { return }
            found[run.key, default: (0, false)].entries += run.entries
            if run.isDirectory { found[run.key]!.isDirectory = true }
        }
        while position < git_index_entrycount(index), let path = git_index_get_byindex(index, position)?.pointee.path {
            guard strncmp(path, directory, prefix.count) == 0 else { break }
            let rest = path + prefix.count
            let slash = strchr(rest, Int32(UInt8(ascii: "/"))).map { UnsafePointer($0) }
            let name = UnsafeRawBufferPointer(start: rest, count: slash.map { $0 - rest } ?? strlen(rest))
            if let current = run, current.name.elementsEqual(name) {
                run!.entries += 1
                run!.isDirectory = current.isDirectory || slash != nil
            } else {
                endRun()
                guard let key = String(validating: name, as: UTF8.self) else { return nil }
                run = (name, key, 1, slash != nil)
            }
            position += 1
        }
        endRun()
        for entry in DirectoryEntry.list(workdir + directory) where !(directory.isEmpty && entry.name == ".git") {
            guard entry.isUTF8 else { return nil }
            found[entry.name, default: (0, false)].isDirectory = found[entry.name]?.isDirectory == true || entry.isDirectory
        }
        return found.map { (directory + $0.key, $0.value.entries, $0.value.isDirectory) }
    }

    /// The names in the subtree of `tree` at `directory` ("" or ending in "/"), and which are
    /// trees; none when there is no such subtree, nil when a name is not UTF-8.
    private static func treeNames(_ tree: OpaquePointer?, at directory: String) -> [(name: String, isTree: Bool)]? {
        guard let tree else { return [] }
        var subtree: OpaquePointer? = tree
        var entry: OpaquePointer?
        if !directory.isEmpty {
            guard git_tree_entry_bypath(&entry, tree, String(directory.dropLast())) == 0 else { return [] }
            defer { git_tree_entry_free(entry) }
            var object: OpaquePointer?
            guard git_tree_entry_type(entry) == GIT_OBJECT_TREE, git_tree_lookup(&object, git_tree_owner(tree), git_tree_entry_id(entry)) == 0
            else { return [] }
            subtree = object
        }
        defer { if subtree != tree { git_tree_free(subtree) } }
        var names: [(name: String, isTree: Bool)] = []
        for position in 0..<git_tree_entrycount(subtree) {
            guard let child = git_tree_entry_byindex(subtree, position) else { continue }
            guard let name = String(validatingCString: git_tree_entry_name(child)) else { return nil }
            names.append((name, git_tree_entry_type(child) == GIT_OBJECT_TREE))
        }
        return names
    }
}
