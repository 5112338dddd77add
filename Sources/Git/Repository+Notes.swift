import Clibgit2

/// Git notes written with a fixed two-level fanout (`ab/cd/<36 hex digits>`).
///
/// libgit2's `git_note_create` keeps every note in one flat tree, so each write rewrites a tree
/// with one entry per note and the cost grows with the ledger. Here a write rewrites three small
/// trees (the root, one of 256 first-level trees, one of 65,536 second-level trees), so its cost
/// stays flat up to millions of notes. Readers (git, libgit2, this code) accept any fanout; a note
/// found at another depth (written by `git notes`) is moved to the canonical path when appended to.
extension Repository {
    /// The note on `object` under the notes reference `ref`, or nil.
    public func note(ref: ReferenceName, on object: OID) throws -> String? {
        guard let notesCommit = try referenceTarget(ref) else { return nil }
        let tree = try commit(notesCommit).tree
        guard let found = try findNote(inTree: tree, for: object) else { return nil }
        return String(decoding: try blob(found.blob), as: UTF8.self)
    }

    /// Appends `text` (a line or several, newline added if missing) to the note on `object`,
    /// creating it if needed, as a new commit on `ref`. The ref is moved with compare-and-swap
    /// (`updateReference`), so no concurrent append is lost.
    /// Returns the new notes commit. libgit2's check that each object a new tree or ref names
    /// exists is off meanwhile (`ObjectValidation`): each was just written or read from the notes tree.
    @discardableResult
    public func appendNote(ref: ReferenceName, on object: OID, text: String, message: String = "Notes added by 'git autoresearch'") throws -> OID {
        try ObjectValidation.suspended { try updateReference(ref, message: message) { parent in
            let rootTree = try parent.map { try commit($0).tree }
            var content = ""
            var tree = rootTree
            if let rootTree, let existing = try findNote(inTree: rootTree, for: object) {
                content = String(decoding: try blob(existing.blob), as: UTF8.self)
                if !content.isEmpty && !content.hasSuffix("\n") { content += "\n" }
                if existing.path != Self.notePath(for: object) {
                    tree = try writeTree(base: tree, path: existing.path, entry: nil)
                }
            }
            content += text.hasSuffix("\n") ? text : text + "\n"
            let blobID = try createBlob(Array(content.utf8))
            let newTree = try writeTree(base: tree, path: Self.notePath(for: object),
                                        entry: (blobID, .blob))!
            return try createCommit(tree: newTree, parents: parent.map { [$0] } ?? [], message: message)
        } }
    }

    /// Rewrites the notes on `objects` under `ref` as one new commit on `ref`: `edit` gets each
    /// object and its note's text ("" when it has none) and returns the new text (nil: no note).
    /// Compare-and-swap, retried (`edit` then sees the notes as they are by then), so a note
    /// appended meanwhile is never lost; a killed process leaves `ref` as it was. Returns the new
    /// notes commit, or the current one when nothing changed.
    @discardableResult
    public func editNotes(ref: ReferenceName, on objects: [OID], message: String,
                          _ edit: (_ object: OID, _ text: String) throws -> String?) throws -> OID {
        try updateReference(ref, message: message) { parent in
            let rootTree = try parent.map { try commit($0).tree }
            var tree = rootTree
            for object in Set(objects).sorted(by: { $0.hex < $1.hex }) {
                var text = ""
                if let current = tree, let existing = try findNote(inTree: current, for: object) {
                    text = String(decoding: try blob(existing.blob), as: UTF8.self)
                    tree = try writeTree(base: current, path: existing.path, entry: nil)
                }
                if let edited = try edit(object, text) {
                    tree = try writeTree(base: tree, path: Self.notePath(for: object), entry: (try createBlob(Array(edited.utf8)), .blob))
                }
            }
            if let parent, tree == rootTree { return parent }
            return try createCommit(tree: tree ?? emptyTree(), parents: parent.map { [$0] } ?? [], message: message + "\n")
        }
    }

    /// Merges the notes commit `theirs` (fetched from elsewhere) into `ref` by the union of
    /// lines: where both sides annotate the same object, the merged note has our lines, then
    /// their lines that ours lacks. Fast-forwards when one side contains the other; otherwise
    /// writes a merge commit (parents: ours, theirs). Only subtrees that differ are read, so the
    /// cost follows the difference, not the number of notes. Compare-and-swap, retried.
    @discardableResult
    public func mergeNotes(ref: ReferenceName, theirs: OID, message: String) throws -> OID {
        try updateReference(ref, message: message) { ours in
            guard let ours else { return theirs }
            if try isAncestor(theirs, of: ours) { return ours }
            if try isAncestor(ours, of: theirs) { return theirs }
            let tree = try unionOfNotes(try commit(ours).tree, try commit(theirs).tree)
            return try createCommit(tree: tree, parents: [ours, theirs], message: message + "\n")
        }
    }

    private func unionOfNotes(_ ours: OID, _ theirs: OID) throws -> OID {
        if ours == theirs { return ours }
        var merged = try entries(ofTree: ours)
        var index = Dictionary(uniqueKeysWithValues: merged.enumerated().map { ($1.name, $0) })
        for entry in try entries(ofTree: theirs) {
            guard let position = index[entry.name] else {
                index[entry.name] = merged.count
                merged.append(entry)
                continue
            }
            let mine = merged[position]
            guard mine.id != entry.id else { continue }
            if mine.mode == .tree, entry.mode == .tree {
                merged[position].id = try unionOfNotes(mine.id, entry.id)
            } else if mine.mode != .tree, entry.mode != .tree {
                let ourText = String(decoding: try blob(mine.id), as: UTF8.self)
                var lines = ourText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                if lines.last == "" { lines.removeLast() }
                var seen = Set(lines)
                for line in String(decoding: try blob(entry.id), as: UTF8.self).split(separator: "\n").map(String.init)
                where seen.insert(line).inserted {
                    lines.append(line)
                }
                merged[position].id = try createBlob(Array((lines.joined(separator: "\n") + "\n").utf8))
            }
            // A tree on one side and a note on the other cannot share a name in a notes tree.
        }
        return try writeTree(entries: merged)
    }

    /// Calls `body` with every annotated object and its note blob under `ref`, any fanout.
    public func forEachNote(ref: ReferenceName, _ body: (_ object: OID, _ blob: OID) throws -> Void) throws {
        guard try referenceTarget(ref) != nil else { return }
        final class Collector { var pairs: [(OID, OID)] = [] }
        let collector = Collector()
        let code = git_note_foreach(pointer, ref.fullName, { blob, annotated, payload in
            let collector = Unmanaged<Collector>.fromOpaque(payload!).takeUnretainedValue()
            collector.pairs.append((OID(annotated!.pointee), OID(blob!.pointee)))
            return 0
        }, Unmanaged.passUnretained(collector).toOpaque())
        try check(code, "list notes in \(ref)")
        for (object, blob) in collector.pairs { try body(object, blob) }
    }

    /// The canonical path of the note on `object`: `ab/cd/<rest>`.
    static func notePath(for object: OID) -> [String] {
        let hex = Array(object.hex)
        return [String(hex[0..<2]), String(hex[2..<4]), String(hex[4...])]
    }

    /// Finds the note on `object` at any fanout depth from 0 to 3 levels.
    private func findNote(inTree tree: OID, for object: OID) throws -> (path: [String], blob: OID)? {
        let hex = Array(object.hex)
        for depth in [2, 0, 1, 3] {
            var path = (0..<depth).map { String(hex[($0 * 2)..<($0 * 2 + 2)]) }
            path.append(String(hex[(depth * 2)...]))
            if let entry = try entry(inTree: tree, path: path.joined(separator: "/")), entry.kind == .blob {
                return (path, entry.id)
            }
        }
        return nil
    }
}
