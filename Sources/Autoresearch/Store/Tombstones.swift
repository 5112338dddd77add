import Foundation
import Git

/// A line in a note saying that `prune` removed a run's record from it:
/// `pruned=RUN experiment=NAME at=TIMESTAMP host=HOST`. It has no `v`, so no reader, of this
/// version or an older one, takes it for a record. It stays in the note the record was in, so
/// that when a merge with a remote's notes (a union of lines) brings the record back, the record
/// is removed again (`Ledger.applyTombstones`).
enum TombstoneLine {
    static func format(run: String, experiment: String, at date: Date, host: String) -> String {
        "pruned=\(Logfmt.quote(run)) experiment=\(Logfmt.quote(experiment)) at=\(Timestamp.format(date)) host=\(Logfmt.quote(host))"
    }

    /// Whether `line` of a note is one (checked before any parsing).
    static func isOne(_ line: Substring) -> Bool { line.utf8.starts(with: "pruned=".utf8) }

    /// The runs the tombstones in `note` name.
    static func runs(in note: String) -> Set<String> {
        Set(note.split(separator: "\n").filter(isOne).compactMap { field("pruned", of: $0) })
    }

    /// The value of `key` in a logfmt line, if any.
    static func field(_ key: String, of line: Substring) -> String? {
        Logfmt.parse(String(line)).first { $0.key == key }?.value
    }

    /// Whether `line` is a record of one of `runs`, or a log line kept with one (`LogTailLine`).
    static func belongs(_ line: Substring, toOneOf runs: Set<String>) -> Bool {
        guard !runs.isEmpty, !isOne(line), LogTailLine.isOne(line) || line.utf8.starts(with: "v=".utf8),
              let run = field("run", of: line) else { return false }
        return runs.contains(run)
    }

    /// `note` without the records of `runs` and their log lines, other lines as they were.
    static func note(_ note: String, without runs: Set<String>) -> String {
        let kept = note.split(separator: "\n", omittingEmptySubsequences: false).filter { !belongs($0, toOneOf: runs) }
        return kept.joined(separator: "\n")
    }
}

extension Ledger {
    /// Removes the records of `runs` (and the log lines kept after them) from their notes, and
    /// leaves a tombstone for each where its record was: one notes commit, so a killed process
    /// leaves the ledger as it was or fully pruned. The ledger index follows the notes commit.
    func prune(_ runs: [RunEntry], host: String, at date: Date) throws {
        let byCommit = Dictionary(grouping: runs, by: \.commit)
        let message = "autoresearch: pruned \(runs.count) record\(runs.count == 1 ? "" : "s")"
        _ = try StaleLocks.retrying(Refs.notes, in: repository, notice: notice) {
            try repository.editNotes(ref: Refs.notes, on: Array(byCommit.keys), message: message) { commit, text in
                let pruned = byCommit[commit] ?? []
                var note = TombstoneLine.note(text, without: Set(pruned.map(\.record.run)))
                if !note.isEmpty && !note.hasSuffix("\n") { note += "\n" }
                for entry in pruned where !TombstoneLine.runs(in: note).contains(entry.record.run) {
                    note += TombstoneLine.format(run: entry.record.run, experiment: entry.record.experiment, at: date, host: host) + "\n"
                }
                return note
            }
        }
    }

    /// After a merge of notes moved `refs/notes/autoresearch` from `before` to `after`: in each
    /// note that changed, removes again the records (and log lines) of runs a tombstone there
    /// names, or, with `resurrect`, removes the tombstones of the records the merge brought back.
    /// Returns those runs. Called under the ledger's reference lock (`fetchShared` holds it).
    func applyTombstones(changedFrom before: OID, to after: OID, resurrect: Bool) throws -> [String] {
        let tree = try repository.commit(after).tree
        let paths = try repository.changedPaths(from: try repository.commit(before).tree, to: tree)
        var touched: [OID: Set<String>] = [:]
        for path in paths {
            guard let commit = OID(hex: path.replacingOccurrences(of: "/", with: "")),
                  let entry = try repository.entry(inTree: tree, path: path), entry.kind == .blob else { continue }
            let note = String(decoding: try repository.blob(entry.id), as: UTF8.self)
            let tombstoned = TombstoneLine.runs(in: note)
            let back = tombstoned.filter { run in note.split(separator: "\n").contains { TombstoneLine.belongs($0, toOneOf: [run]) } }
            if !back.isEmpty { touched[commit] = back }
        }
        guard !touched.isEmpty else { return [] }
        let runs = touched.values.flatMap { $0 }.sorted()
        let message = "autoresearch: \(resurrect ? "resurrected" : "pruned again") \(runs.count) record\(runs.count == 1 ? "" : "s")"
        try repository.editNotes(ref: Refs.notes, on: Array(touched.keys), message: message) { commit, text in
            let back = touched[commit] ?? []
            guard resurrect else { return TombstoneLine.note(text, without: back) }
            return text.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !TombstoneLine.isOne($0) || !back.contains(TombstoneLine.field("pruned", of: $0) ?? "") }
                .joined(separator: "\n")
        }
        return runs
    }
}
