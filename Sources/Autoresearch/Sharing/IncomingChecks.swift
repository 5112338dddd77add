import Foundation
import Git

/// Checks of what a fetch brought, before anything reads it: references of the wrong type, records
/// that are suspect (`RecordTrust`), trees with entries git itself refuses (`transfer.fsckObjects`).
extension Workspace {
    /// Deletes the tracking references of `remote` (experiment branches, attempts chains, notes)
    /// that do not point at a commit, so that they are never merged and the next fetch works.
    /// Returns a warning for each.
    func dropMistypedTrackingRefs(remote: String) throws -> [String] {
        let patterns = [Refs.remoteBranchPrefix(remote) + "*", Refs.remoteAttemptsPrefix(remote) + "*"]
            + Refs.sharedNotes.map { Refs.remoteNotes(remote, $0).fullName }
        var warnings: [String] = []
        for pattern in patterns {
            for (ref, target) in try repository.references(matching: pattern) where (try? repository.commit(target)) == nil {
                try repository.deleteReference(ref)
                warnings.append("warning: \(remote)'s \(ref.fullName) points at \(target.short), which is not a commit: skipped, not merged")
            }
        }
        return warnings
    }

    /// The suspect records on the commits whose records changed from `before` to `after` (two
    /// commits of the records' notes ref).
    func suspectsArrived(before: OID?, after: OID) throws -> [SuspectRecord] {
        let old = try before.map { try repository.commit($0).tree } ?? repository.emptyTree()
        let changed = try repository.changedPaths(from: old, to: try repository.commit(after).tree)
        var suspects: [SuspectRecord] = []
        // A note's path may change with the fanout (`ab/cdef...`): one commit, two paths.
        for commit in Set(changed.compactMap { OID(hex: $0.replacingOccurrences(of: "/", with: "")) }) {
            guard let note = try repository.note(ref: Refs.notes, on: commit) else { continue }
            let experiments = Set(RunRecord.parseAll(note).map(\.experiment))
            for experiment in experiments.sorted() { suspects += try ledger.suspects(on: commit, experiment: experiment) }
        }
        return suspects
    }

    /// The first entry of `tree` (searched through its subtrees) that git's `fsck` refuses as a
    /// name (`.`, `..`, `.git`, a `/`, empty), as a path with the problem; nil when there is none.
    func unsafeEntry(inTree tree: OID, prefix: String = "") throws -> String? {
        guard let entries = try? repository.entries(ofTree: tree) else { return "'\(prefix)': \(tree.short) is not a tree" }
        for entry in entries {
            let path = prefix + entry.name
            if let problem = ContainedPath.entryProblem(entry.name) { return "'\(path)': \(problem)" }
            if entry.mode == .tree, let found = try unsafeEntry(inTree: entry.id, prefix: path + "/") { return found }
        }
        return nil
    }
}
