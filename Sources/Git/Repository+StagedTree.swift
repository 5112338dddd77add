import Clibgit2

extension Repository {
    /// The tree of `index` after the files at `paths` were staged into it, when it held the tree
    /// `head` before: `head` with each of those paths' entries as `index` now has them (or none),
    /// only the trees along the paths rewritten. `git_index_write_tree` comes to the same tree
    /// but reads back every tree it wrote afterwards, to fill the index's cache of trees.
    func tree(of paths: [String], stagedIn index: OpaquePointer?, onto head: OID) throws -> OID {
        var changes = DirectoryChanges()
        for path in paths {
            let entry = git_index_get_bypath(index, path, 0)?.pointee
            changes.add(path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)[...],
                        entry.map { (OID($0.id), FileMode(git_filemode_t($0.mode))) })
        }
        // The entries named are the index's, whose blobs the staging just wrote.
        return try ObjectValidation.suspended { try writeTree(changing: changes, onto: head) } ?? emptyTree()
    }

    /// `base` (nil: no tree) with `changes` made, written (only the trees along the changed
    /// paths); nil when nothing is left in it.
    func writeTree(changing changes: DirectoryChanges, onto base: OID?) throws -> OID? {
        var baseTree: OpaquePointer?
        if let base { baseTree = try lookupObject(base, type: GIT_OBJECT_TREE) }
        defer { git_object_free(baseTree) }
        var builder: OpaquePointer?
        try check(git_treebuilder_new(&builder, pointer, baseTree), "start a tree")
        defer { git_treebuilder_free(builder) }
        for name in Set(changes.files.keys).union(changes.directories.keys) {
            var replacement: (id: OID, mode: FileMode)?
            if let file = changes.files[name], let file {
                replacement = file
            } else if let directory = changes.directories[name] {
                var subtree: OID?
                if let existing = git_treebuilder_get(builder, name), git_tree_entry_type(existing) == GIT_OBJECT_TREE {
                    subtree = OID(git_tree_entry_id(existing)!.pointee)
                }
                replacement = try writeTree(changing: directory, onto: subtree).map { ($0, .tree) }
            }
            if let replacement {
                var raw = replacement.id.raw
                try check(git_treebuilder_insert(nil, builder, name, &raw, replacement.mode.libgit2Mode), "insert \(name) in a tree")
            } else if git_treebuilder_get(builder, name) != nil {
                try check(git_treebuilder_remove(builder, name), "remove \(name) from a tree")
            }
        }
        guard git_treebuilder_entrycount(builder) > 0 else { return nil }
        return try writeTree(builder: builder)
    }
}

/// What changed in one directory of a tree: its files' new entries (nil: removed) and its
/// subdirectories' changes. A name can have both, when a file became a directory or the other
/// way round; the file's entry, when there is one, is what the name holds in the end.
struct DirectoryChanges {
    var files: [String: (id: OID, mode: FileMode)?] = [:]
    var directories: [String: DirectoryChanges] = [:]

    mutating func add(_ path: ArraySlice<String>, _ entry: (id: OID, mode: FileMode)?) {
        guard let name = path.first else { return }
        if path.count == 1 {
            files[name] = .some(entry)
        } else {
            directories[name, default: DirectoryChanges()].add(path.dropFirst(), entry)
        }
    }
}
