import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// One record as the ledger index keeps it: what sorting, counting and filtering need, and the
/// record's line, parsed only when the record is asked for.
struct IndexedRecord {
    /// The commit the record's note is on.
    let commit: OID
    /// The record's start, seconds since the reference date.
    let start: Double
    let status: RunStatus
    let experiment: String
    let run: String
    /// Which record of its note it is, from 0.
    let ordinal: Int
    /// The record's line as it is in the note.
    let line: String

    init?(line: String, ordinal: Int, on commit: OID) {
        guard let record = RunRecord(line: line) else { return nil }
        self.init(commit: commit, start: record.start.timeIntervalSinceReferenceDate, status: record.status,
                  experiment: record.experiment, run: record.run, ordinal: ordinal, line: line)
    }

    init(commit: OID, start: Double, status: RunStatus, experiment: String, run: String, ordinal: Int, line: String) {
        self.commit = commit
        self.start = start
        self.status = status
        self.experiment = experiment
        self.run = run
        self.ordinal = ordinal
        self.line = line
    }

    /// The record with its commit (nil only if the line no longer parses, which the index prevents).
    var entry: RunEntry? { RunRecord(line: line).map { RunEntry(commit: commit, record: $0) } }

    /// The ledger's order: by start time, then run id, then commit (as `forEachNote` visits
    /// them), then place in the note.
    static func inLedgerOrder(_ a: IndexedRecord, _ b: IndexedRecord) -> Bool {
        if a.start != b.start { return a.start < b.start }
        if a.run != b.run { return a.run < b.run }
        if a.commit != b.commit { return a.commit.hex < b.commit.hex }
        return a.ordinal < b.ordinal
    }
}

/// The runs of one experiment, counted without parsing their records.
struct RunSummary {
    var counts: [RunStatus: Int] = [:]
    var total = 0
    var last: IndexedRecord?
}

/// A cache of every record in `refs/notes/autoresearch`, derived from the notes and never the
/// source of truth: `.git/autoresearch/ledger-index` (`LocalState.ledgerIndexPath`), keyed by
/// the notes commit it was built from. When the notes moved (a run, a pull), only the notes that
/// differ between the two notes trees are read again; a missing, damaged or unreadable cache is
/// rebuilt from all notes. Readers then pay for what they print, not for the whole ledger.
final class LedgerIndex {
    /// The notes commit the index reflects (nil: no notes yet).
    let notesCommit: OID?
    /// Every record, in ledger order (oldest first).
    let records: [IndexedRecord]

    init(notesCommit: OID?, records: [IndexedRecord]) {
        self.notesCommit = notesCommit
        self.records = records
    }

    /// Positions in `records` by the commit the record is on.
    private lazy var positionsByCommit: [OID: [Int]] = {
        var positions: [OID: [Int]] = [:]
        for (position, record) in records.enumerated() { positions[record.commit, default: []].append(position) }
        return positions
    }()

    /// The runs of each experiment, counted by status, with the latest.
    private(set) lazy var summaries: [String: RunSummary] = {
        var summaries: [String: RunSummary] = [:]
        for record in records {
            summaries[record.experiment, default: RunSummary()].counts[record.status, default: 0] += 1
            summaries[record.experiment]!.total += 1
            summaries[record.experiment]!.last = record
        }
        return summaries
    }()

    /// The records of `experiment` on `commit`, in the note's order (what `Ledger.records(on:)` reads).
    func records(on commit: OID, experiment: String) -> [RunRecord] {
        (positionsByCommit[commit] ?? []).map { records[$0] }.sorted { $0.ordinal < $1.ordinal }
            .filter { $0.experiment == experiment }.compactMap(\.entry?.record)
    }

    /// The latest run of `experiment` that passed the full stage (`RunRecord.passed`); only the
    /// records whose status can pass are parsed, newest first.
    func latestPassingRun(experiment: String) -> RunEntry? {
        for record in records.reversed() where record.experiment == experiment && [.keep, .discard, .recheck].contains(record.status) {
            if let entry = record.entry, entry.record.passed { return entry }
        }
        return nil
    }

    /// True when a run of `experiment` has a smoke-stage value; only lines naming `smoke=` are parsed.
    func ranSmokeStage(experiment: String) -> Bool {
        records.contains { $0.experiment == experiment && $0.line.contains("smoke=") && $0.entry?.record.smokeValue != nil }
    }

    /// The index of the ledger as it is now: the cached one, brought up to date with the notes
    /// (and saved when that changed anything), or one built from all notes.
    static func current(_ repository: Repository) throws -> LedgerIndex {
        let path = LocalState.ledgerIndexPath(repository)
        let target = try repository.referenceTarget(Refs.notes)
        let cached = LedgerIndexFile.read(path)
        if let cached, cached.notesCommit == target { return cached }
        let index = try cached.flatMap { try? $0.updated(to: target, in: repository) } ?? built(from: target, in: repository)
        try? LedgerIndexFile.write(index, to: path)  // a cache: a read-only git directory only costs the next reader time
        return index
    }

    /// The index of every note under the notes commit `target`.
    private static func built(from target: OID?, in repository: Repository) throws -> LedgerIndex {
        var records: [IndexedRecord] = []
        if target != nil {
            try repository.forEachNote(ref: Refs.notes) { commit, blob in
                records += try recordsOfNote(blob, on: commit, in: repository)
            }
        }
        return LedgerIndex(notesCommit: target, records: records.sorted(by: IndexedRecord.inLedgerOrder))
    }

    /// This index moved to the notes commit `target`: the records of every note that differs
    /// between the two notes trees replaced by that note's records now.
    private func updated(to target: OID?, in repository: Repository) throws -> LedgerIndex? {
        guard let notesCommit, let target else { return nil }
        let newTree = try repository.commit(target).tree
        let paths = try repository.changedPaths(from: try repository.commit(notesCommit).tree, to: newTree)
        let changed = Set(paths.compactMap { OID(hex: $0.replacingOccurrences(of: "/", with: "")) })
        var kept = records.filter { !changed.contains($0.commit) }
        for path in paths {
            guard let commit = OID(hex: path.replacingOccurrences(of: "/", with: "")),
                  let entry = try repository.entry(inTree: newTree, path: path), entry.kind == .blob else { continue }
            kept += try Self.recordsOfNote(entry.id, on: commit, in: repository)
        }
        return LedgerIndex(notesCommit: target, records: kept.sorted(by: IndexedRecord.inLedgerOrder))
    }

    /// The records in the note blob `blob` on `commit`, in the note's order.
    private static func recordsOfNote(_ blob: OID, on commit: OID, in repository: Repository) throws -> [IndexedRecord] {
        var records: [IndexedRecord] = []
        for line in String(decoding: try repository.blob(blob), as: UTF8.self).split(separator: "\n") {
            if let record = IndexedRecord(line: String(line), ordinal: records.count, on: commit) { records.append(record) }
        }
        return records
    }
}
