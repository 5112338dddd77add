import Clibgit2

/// The result of merging two commits in memory.
public enum MergeOutcome: Sendable, Equatable {
    /// The merged tree, written to the object database.
    case tree(OID)
    /// The merge conflicts in these paths; no tree was written.
    case conflicts([String])
}

extension Repository {
    /// Merges commit `theirs` into commit `ours` the way `git merge` does (three-way against their
    /// merge base, renames found), in memory: index, work tree and references are not touched.
    /// Returns the merged tree, or the conflicting paths.
    public func mergeTrees(ours: OID, theirs: OID) throws -> MergeOutcome {
        let oursCommit = try lookupObject(ours, type: GIT_OBJECT_COMMIT)
        defer { git_object_free(oursCommit) }
        let theirsCommit = try lookupObject(theirs, type: GIT_OBJECT_COMMIT)
        defer { git_object_free(theirsCommit) }
        var options = git_merge_options()
        try check(git_merge_options_init(&options, UInt32(GIT_MERGE_OPTIONS_VERSION)), "prepare merge")
        var index: OpaquePointer?
        try check(git_merge_commits(&index, pointer, oursCommit, theirsCommit, &options),
                  "merge \(theirs.short) into \(ours.short)")
        defer { git_index_free(index) }
        if git_index_has_conflicts(index) != 0 { return .conflicts(try conflictPaths(in: index)) }
        var tree = git_oid()
        try check(git_index_write_tree_to(&tree, index, pointer), "write the merged tree")
        return .tree(OID(tree))
    }

    /// The paths in conflict in an index, in index order.
    private func conflictPaths(in index: OpaquePointer?) throws -> [String] {
        var iterator: OpaquePointer?
        try check(git_index_conflict_iterator_new(&iterator, index), "list merge conflicts")
        defer { git_index_conflict_iterator_free(iterator) }
        var paths: [String] = []
        var ancestor: UnsafePointer<git_index_entry>?, ours: UnsafePointer<git_index_entry>?, theirs: UnsafePointer<git_index_entry>?
        while true {
            let code = git_index_conflict_next(&ancestor, &ours, &theirs, iterator)
            if code == GIT_ITEROVER.rawValue { return paths }
            try check(code, "list merge conflicts")
            if let path = (ours ?? theirs ?? ancestor)?.pointee.path { paths.append(String(cString: path)) }
        }
    }
}
