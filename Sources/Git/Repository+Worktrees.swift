import Clibgit2
import Foundation

/// Linked work trees (`git worktree`): extra checkouts of the same repository, each on its own
/// branch, with their administrative files in `GITDIR/worktrees/NAME`.
extension Repository {
    /// The names of the linked work trees (not the main one).
    public func worktreeNames() throws -> [String] {
        var names = git_strarray()
        try check(git_worktree_list(&names, pointer), "list work trees")
        defer { git_strarray_dispose(&names) }
        return (0..<names.count).compactMap { names.strings[$0].map { String(cString: $0) } }
    }

    /// Adds a linked work tree called `name` at `path` (which must not exist yet; its parent must), checked out on
    /// the existing branch `branch`.
    public func addWorktree(name: String, path: String, branch: ReferenceName) throws {
        var ref: OpaquePointer?
        try check(git_reference_lookup(&ref, pointer, branch.fullName), "look up \(branch)")
        defer { git_reference_free(ref) }
        var options = git_worktree_add_options()
        try check(git_worktree_add_options_init(&options, UInt32(GIT_WORKTREE_ADD_OPTIONS_VERSION)), "prepare a work tree")
        options.ref = ref
        var worktree: OpaquePointer?
        try check(git_worktree_add(&worktree, pointer, name, path, &options), "add work tree \(name) at \(path)")
        git_worktree_free(worktree)
    }

    /// The directory of the linked work tree `name`, or nil when there is no such work tree.
    public func worktreePath(name: String) throws -> String? {
        // libgit2 reports a missing work tree as a generic error: list first.
        guard try worktreeNames().contains(name) else { return nil }
        var worktree: OpaquePointer?
        try check(git_worktree_lookup(&worktree, pointer, name), "look up work tree \(name)")
        defer { git_worktree_free(worktree) }
        return git_worktree_path(worktree).map { String(cString: $0) }
    }

    /// The names of the directories under `GITDIR/worktrees`: the linked work trees, and what an
    /// interrupted `addWorktree` left (a directory without the files that make it a work tree,
    /// which git does not list but which makes adding `name` again fail).
    public func worktreeAdministrativeNames() -> [String] {
        DirectoryEntry.list(worktreeAdministrativeDirectory(name: "")).map(\.name)
    }

    /// Where the administrative files of linked work tree `name` are: `GITDIR/worktrees/NAME`.
    public func worktreeAdministrativeDirectory(name: String) -> String { commonDirectory + "worktrees/" + name }

    /// Removes the linked work tree `name`: its directory (with any files in it) and its
    /// administrative files, like `git worktree remove --force` followed by `git worktree prune`.
    /// When git does not know `name` as a work tree, removes what an interrupted add left of its
    /// administrative directory, if anything.
    public func removeWorktree(name: String) throws {
        guard try worktreeNames().contains(name) else {
            let leftover = worktreeAdministrativeDirectory(name: name)
            if FileManager.default.fileExists(atPath: leftover) { try FileManager.default.removeItem(atPath: leftover) }
            return
        }
        var worktree: OpaquePointer?
        try check(git_worktree_lookup(&worktree, pointer, name), "look up work tree \(name)")
        defer { git_worktree_free(worktree) }
        var options = git_worktree_prune_options()
        try check(git_worktree_prune_options_init(&options, UInt32(GIT_WORKTREE_PRUNE_OPTIONS_VERSION)), "prepare pruning")
        options.flags = GIT_WORKTREE_PRUNE_VALID.rawValue | GIT_WORKTREE_PRUNE_LOCKED.rawValue
            | GIT_WORKTREE_PRUNE_WORKING_TREE.rawValue
        try check(git_worktree_prune(worktree, &options), "remove work tree \(name)")
    }
}
