import Clibgit2
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The status of a large work tree on two threads, as git's `core.preloadIndex` checks files on
/// several: libgit2's status scans on one. The work tree is cut into two lists of paths (files
/// and directories, each path of the tree under exactly one of them) holding about as many index
/// entries each; this repository scans one, a second handle on the same repository (its own
/// libgit2 objects, so the threads share none) scans the other, and the answers are joined.
extension Repository {
    /// The index entries from which `workTreeStatus` scans on two threads: below, a second
    /// thread costs more than it saves (the second handle reads the index too).
    public static let parallelScanThreshold = 10_000
    /// Whether a second thread can run beside this one (glibc reads /sys for the count: once).
    private static let hasSeveralCores = sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1

    /// The status of `show` (untracked files one by one, ignored files and submodules left out),
    /// scanned on two threads; nil when the index has fewer than `threshold` entries, the
    /// machine has one core, or the tree does not divide.
    func readStatusOnTwoThreads(show: git_status_show_t, index: OpaquePointer?, threshold: Int) throws -> WorkTreeStatus? {
        guard git_index_entrycount(index) >= threshold, Self.hasSeveralCores,
              let workdir, let (mine, theirs) = try halves(of: index, workdir: workdir) else { return nil }
        let helper = try statusHelper(workdir: workdir)
        final class Answer: @unchecked Sendable {
            let helper: Repository
            var status: Result<WorkTreeStatus, Error>?
            init(_ helper: Repository) { self.helper = helper }
        }
        let answer = Answer(helper)
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            answer.status = Result { try answer.helper.readStatus(show: show, flags: GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH.rawValue, paths: theirs) }
        }
        let own = Result { try readStatus(show: show, flags: GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH.rawValue, paths: mine) }
        done.wait()
        let first = try own.get(), second = try answer.status!.get()
        let entries = (first.entries + second.entries).sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        return WorkTreeStatus(entries: entries, hasStaleStatData: first.hasStaleStatData || second.hasStaleStatData)
    }

    /// The second handle of `readStatusOnTwoThreads`, kept for the next status (a loop's).
    private func statusHelper(workdir: String) throws -> Repository {
        if let statusHelperHandle { return statusHelperHandle }
        let helper = try Repository(path: gitDirectory)
        try check(git_repository_set_workdir(helper.pointer, workdir, 0), "use \(workdir) as the work tree")
        statusHelperHandle = helper
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
