import Clibgit2
import Clibgit2Support

/// A commit's essentials, read once.
public struct CommitInfo: Sendable, Equatable {
    public let id: OID
    public let tree: OID
    public let parents: [OID]
    public let message: String
}

/// The kind of a tree entry.
public enum EntryKind: Sendable, Equatable {
    case blob, tree, commit, other

    init(_ type: git_object_t) {
        switch type {
        case GIT_OBJECT_BLOB: self = .blob
        case GIT_OBJECT_TREE: self = .tree
        case GIT_OBJECT_COMMIT: self = .commit
        default: self = .other
        }
    }
}

/// One entry of a tree, found by path.
public struct TreeEntry: Sendable, Equatable {
    public let id: OID
    public let kind: EntryKind
    /// The git file mode.
    public let mode: FileMode
}

extension Repository {
    /// Writes a commit object (no reference is moved) and returns its id.
    public func createCommit(tree: OID, parents: [OID], message: String) throws -> OID {
        let treeObject = try lookupObject(tree, type: GIT_OBJECT_TREE)
        defer { git_object_free(treeObject) }
        var parentObjects: [OpaquePointer?] = []
        defer { parentObjects.forEach { git_object_free($0) } }
        for parent in parents { parentObjects.append(try lookupObject(parent, type: GIT_OBJECT_COMMIT)) }
        let (author, committer) = try signatures()
        defer { git_signature_free(author); git_signature_free(committer) }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        _ = try parentObjects.withUnsafeMutableBufferPointer { objects in
            try objects.withMemoryRebound(to: OpaquePointer?.self) { parentsPointer in
                try check(git_commit_create_buffer(&buffer, pointer, author, committer, "UTF-8", message,
                                                   treeObject, parents.count, parentsPointer.baseAddress),
                          "create commit")
            }
        }
        return try writeObject(UnsafeRawBufferPointer(start: buffer.ptr, count: buffer.size), type: GIT_OBJECT_COMMIT, "write a commit")
    }

    /// Writes an object of `type` holding `bytes` and returns its id, a new object without
    /// libgit2's refresh of the pack directory (`clibgit2_write_object`).
    func writeObject(_ bytes: UnsafeRawBufferPointer, type: git_object_t, _ operation: @autoclosure () -> String) throws -> OID {
        try withObjectDatabase { database in
            var oid = git_oid()
            try check(clibgit2_write_object(&oid, database, bytes.baseAddress, bytes.count, type), operation())
            return OID(oid)
        }
    }

    /// Calls `body` with the repository's object database.
    func withObjectDatabase<T>(_ body: (OpaquePointer?) throws -> T) throws -> T {
        var database: OpaquePointer?
        try check(git_repository_odb(&database, pointer), "open the object database")
        defer { git_odb_free(database) }
        return try body(database)
    }

    /// Reads a commit.
    public func commit(_ id: OID) throws -> CommitInfo {
        let object = try lookupObject(id, type: GIT_OBJECT_COMMIT)
        defer { git_object_free(object) }
        let parents = (0..<git_commit_parentcount(object)).map { OID(git_commit_parent_id(object, $0)!.pointee) }
        return CommitInfo(id: id,
                          tree: OID(git_commit_tree_id(object)!.pointee),
                          parents: parents,
                          message: git_commit_message(object).map { String(cString: $0) } ?? "")
    }

    /// The entry at `path` (`a/b/c`) in a tree, or nil when there is none.
    public func entry(inTree tree: OID, path: String) throws -> TreeEntry? {
        let treeObject = try lookupObject(tree, type: GIT_OBJECT_TREE)
        defer { git_object_free(treeObject) }
        var entry: OpaquePointer?
        let code = git_tree_entry_bypath(&entry, treeObject, path)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "find \(path) in tree \(tree.short)")
        defer { git_tree_entry_free(entry) }
        return TreeEntry(id: OID(git_tree_entry_id(entry)!.pointee), kind: EntryKind(git_tree_entry_type(entry)),
                         mode: FileMode(git_tree_entry_filemode(entry)))
    }

    /// The content of a blob.
    public func blob(_ id: OID) throws -> [UInt8] {
        let object = try lookupObject(id, type: GIT_OBJECT_BLOB)
        defer { git_object_free(object) }
        let size = Int(git_blob_rawsize(object))
        guard size > 0, let raw = git_blob_rawcontent(object) else { return [] }
        return Array(UnsafeRawBufferPointer(start: raw, count: size))
    }

    /// The size in bytes of a blob, read from the object's header (its content is not loaded).
    public func blobSize(_ id: OID) throws -> Int { try header(of: id).size }

    /// The kind of object `id` is, read from its header (its content is not loaded or checked).
    public func kind(of id: OID) throws -> EntryKind { EntryKind(try header(of: id).type) }

    private func header(of id: OID) throws -> (size: Int, type: git_object_t) {
        try withObjectDatabase { database in
            var size = 0
            var type = GIT_OBJECT_INVALID
            var raw = id.raw
            try check(git_odb_read_header(&size, &type, database, &raw), "read the header of \(id.short)")
            return (size, type)
        }
    }

    /// Writes a blob and returns its id.
    public func createBlob(_ bytes: [UInt8]) throws -> OID {
        try bytes.withUnsafeBytes { try writeObject($0, type: GIT_OBJECT_BLOB, "write blob") }
    }

    /// Writes a copy of the tree `base` (nil: an empty tree) in which the entry at `path` is
    /// replaced by `entry` (a blob or tree id and its git mode), or removed when `entry` is nil.
    /// Only the trees along `path` are rewritten. Returns nil when the result is empty.
    public func writeTree(base: OID?, path: [String], entry: (id: OID, mode: FileMode)?) throws -> OID? {
        var changes = DirectoryChanges()
        changes.add(path[...], entry)
        return try writeTree(changing: changes, onto: base)
    }

    /// Writes a tree holding exactly `entries` (names, object ids, git modes) and returns its id.
    public func writeTree(entries: [(name: String, id: OID, mode: FileMode)]) throws -> OID {
        var builder: OpaquePointer?
        try check(git_treebuilder_new(&builder, pointer, nil), "start a tree")
        defer { git_treebuilder_free(builder) }
        for entry in entries {
            var raw = entry.id.raw
            try check(git_treebuilder_insert(nil, builder, entry.name, &raw, entry.mode.libgit2Mode), "insert \(entry.name) in a tree")
        }
        return try writeTree(builder: builder)
    }

    /// Writes the tree `builder` holds, as `git_treebuilder_write` would, through `writeObject`'s
    /// writer (`clibgit2_write_tree`): its entries (names the builder checked) in git's order.
    func writeTree(builder: OpaquePointer?) throws -> OID {
        try withObjectDatabase { database in
            var oid = git_oid()
            try check(clibgit2_write_tree(&oid, database, builder), "write a tree")
            return OID(oid)
        }
    }

    /// The entries of a tree, in tree order.
    public func entries(ofTree tree: OID) throws -> [(name: String, id: OID, mode: FileMode)] {
        let object = try lookupObject(tree, type: GIT_OBJECT_TREE)
        defer { git_object_free(object) }
        return (0..<git_tree_entrycount(object)).map { index in
            let entry = git_tree_entry_byindex(object, index)
            return (String(cString: git_tree_entry_name(entry)), OID(git_tree_entry_id(entry)!.pointee),
                    FileMode(git_tree_entry_filemode(entry)))
        }
    }

    /// Writes the empty tree and returns its id.
    public func emptyTree() throws -> OID {
        try writeTree(entries: [])
    }
}

extension Repository {
    /// The commit a revision names (`HEAD`, a short or full id, a ref), or nil when there is none.
    public func resolveCommit(_ revision: String) throws -> OID? {
        var object: OpaquePointer?
        let code = git_revparse_single(&object, pointer, revision + "^{commit}")
        if code == GIT_ENOTFOUND.rawValue || code == GIT_EAMBIGUOUS.rawValue || code == GIT_EINVALIDSPEC.rawValue { return nil }
        try check(code, "resolve \(revision)")
        defer { git_object_free(object) }
        return OID(git_object_id(object)!.pointee)
    }

    /// The patch (`git diff` format) from the tree of `base` (nil: the empty tree) to the tree of `commit`.
    public func diffPatch(from base: OID?, to commit: OID) throws -> String {
        try diff(from: base, to: commit, as: .patch)
    }

    /// The difference between the trees of two commits (`base` nil: the empty tree), as `git diff
    /// base commit` prints it in `format`, renames detected as git does by default.
    public func diff(from base: OID?, to commit: OID, as format: DiffFormat) throws -> String {
        let newTree = try lookupObject(try self.commit(commit).tree, type: GIT_OBJECT_TREE)
        defer { git_object_free(newTree) }
        var oldTree: OpaquePointer?
        if let base { oldTree = try lookupObject(try self.commit(base).tree, type: GIT_OBJECT_TREE) }
        defer { git_object_free(oldTree) }
        var diff: OpaquePointer?
        try check(git_diff_tree_to_tree(&diff, pointer, oldTree, newTree, nil), "diff \(commit.short)")
        defer { git_diff_free(diff) }
        var findOptions = git_diff_find_options()
        try check(git_diff_find_options_init(&findOptions, UInt32(GIT_DIFF_FIND_OPTIONS_VERSION)), "prepare rename detection")
        findOptions.flags = GIT_DIFF_FIND_RENAMES.rawValue
        try check(git_diff_find_similar(diff, &findOptions), "find renames in the diff of \(commit.short)")
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        switch format {
        case .patch, .nameOnly:
            try check(git_diff_to_buf(&buffer, diff, format == .patch ? GIT_DIFF_FORMAT_PATCH : GIT_DIFF_FORMAT_NAME_ONLY),
                      "format the diff of \(commit.short)")
        case .stat:
            var stats: OpaquePointer?
            try check(git_diff_get_stats(&stats, diff), "count the changes of \(commit.short)")
            defer { git_diff_stats_free(stats) }
            guard git_diff_stats_files_changed(stats) > 0 else { return "" }
            try check(git_diff_stats_to_buf(&buffer, stats, GIT_DIFF_STATS_FULL, 80), "format the changes of \(commit.short)")
        }
        guard let text = buffer.ptr else { return "" }
        return String(cString: text)
    }
}

/// How `Repository.diff` prints a difference: as `git diff`, `git diff --stat` or `git diff --name-only`.
public enum DiffFormat: String, Sendable, CaseIterable {
    case patch, stat, nameOnly = "name-only"
}

/// One path whose entry differs between two trees: its entry in each (nil where it has none).
public struct TreeChange: Sendable, Equatable {
    public let path: String
    public let old: TreeEntry?
    public let new: TreeEntry?

    /// The same change seen from the other side.
    var reversed: TreeChange { TreeChange(path: path, old: new, new: old) }
}

extension Repository {
    /// The paths whose entries differ between two trees (added, removed, modified, type or mode
    /// changed), found by comparing tree entry ids: unchanged subtrees are skipped, no file is read.
    public func changedPaths(from old: OID, to new: OID) throws -> [String] {
        try treeChanges(from: old, to: new).map(\.path)
    }

    /// The entries that differ between two trees, in path order (`changedPaths`). A blob that
    /// became a tree comes as the blob's removal and the entries added under the tree.
    public func treeChanges(from old: OID, to new: OID) throws -> [TreeChange] {
        if let last = lastTreeChanges {
            if last.old == old, last.new == new { return last.changes }
            if last.old == new, last.new == old { return last.changes.map(\.reversed) }
        }
        let oldTree = try lookupObject(old, type: GIT_OBJECT_TREE)
        defer { git_object_free(oldTree) }
        let newTree = try lookupObject(new, type: GIT_OBJECT_TREE)
        defer { git_object_free(newTree) }
        var diff: OpaquePointer?
        try check(git_diff_tree_to_tree(&diff, pointer, oldTree, newTree, nil), "compare trees \(old.short) and \(new.short)")
        defer { git_diff_free(diff) }
        func entry(_ file: git_diff_file) -> TreeEntry? {
            guard file.mode != 0 else { return nil }
            let mode = FileMode(git_filemode_t(UInt32(file.mode)))
            return TreeEntry(id: OID(file.id), kind: mode == .tree ? .tree : mode == .commit ? .commit : .blob, mode: mode)
        }
        var changes: [TreeChange] = []
        for index in 0..<git_diff_num_deltas(diff) {
            guard let delta = git_diff_get_delta(diff, index)?.pointee,
                  let path = (delta.new_file.path ?? delta.old_file.path).map({ String(cString: $0) }) else { continue }
            let change = TreeChange(path: path, old: entry(delta.old_file), new: entry(delta.new_file))
            // A blob that became a link (or back) comes as a removal and an addition of one path.
            if let last = changes.last, last.path == path {
                changes[changes.count - 1] = TreeChange(path: path, old: last.old ?? change.old, new: last.new ?? change.new)
            } else {
                changes.append(change)
            }
        }
        lastTreeChanges = (old, new, changes)
        return changes
    }
}

extension Repository {
    /// The id `bytes` would have as a blob, without writing it.
    public func hashBlob(_ bytes: [UInt8]) throws -> OID {
        var oid = git_oid()
        _ = try bytes.withUnsafeBytes { buffer in
            try check(git_odb_hash(&oid, buffer.baseAddress, buffer.count, GIT_OBJECT_BLOB), "hash a blob")
        }
        return OID(oid)
    }
}
