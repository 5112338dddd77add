import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// The running aggregates of one experiment's runs, kept in the ledger index's summary and
/// updated record by record as records are appended, so that `status` and `best` scan nothing.
struct RunSummary: Codable {
    var counts: [RunStatus: Int] = [:]
    var total = 0
    /// Seconds of evaluation by status, and in all (each summed in ledger order).
    var seconds: [RunStatus: Double] = [:]
    var totalSeconds = 0.0
    /// Where the entry of the latest run is in the entries file.
    var last: Int?
    /// Where the entry of the latest run that passed the full stage (`RunRecord.passed`) is.
    var latestPass: Int?
    /// True when a run has a smoke-stage value.
    var ranSmoke = false
    /// The commits with a baseline record of the experiment, trusted or not (hexadecimal).
    var baselineCommits: [String] = []
    /// The nearest trusted baseline at or below a commit, as last found by `Ledger`; forgotten
    /// when a record is added on a baseline commit or a new baseline appears.
    var baselineMemo: BaselineMemo?

    /// Counts `record`, whose entry is at `offset`, as the experiment's latest run.
    mutating func add(_ record: IndexedRecord, at offset: Int) {
        counts[record.status, default: 0] += 1
        total += 1
        seconds[record.status, default: 0] += record.duration
        totalSeconds += record.duration
        last = offset
        if record.flags.contains(.passed) { latestPass = offset }
        if record.flags.contains(.smoke) { ranSmoke = true }
        let commit = record.commit.hex
        if record.flags.contains(.baseline) || baselineCommits.contains(commit) { baselineMemo = nil }
        if record.flags.contains(.baseline), !baselineCommits.contains(commit) { baselineCommits.append(commit) }
    }
}

/// "The nearest trusted baseline record of the experiment at or below `commit`, along first
/// parents, is on `baseline`" (nil: there is none).
struct BaselineMemo: Codable, Equatable {
    var commit: String
    var baseline: String?
}

/// A cache of every record in `refs/notes/autoresearch`, derived from the notes and never the
/// source of truth: the entries (`LedgerEntries`, in ledger order, read from either end) and a
/// small summary (`LedgerSummary`: the notes commit they reflect, each experiment's aggregates).
/// When the notes moved, the two notes trees are diffed: records only added after the newest
/// (a run, a recheck) are appended, O(new records); anything else (a pull of older records, a
/// note removed, another notes history) rewrites the entries from the cached ones and the
/// changed notes; a missing, damaged or foreign cache is rebuilt from all notes.
final class LedgerIndex {
    /// The notes commit the index reflects (nil: no notes yet).
    let notesCommit: OID?
    let summary: LedgerSummary
    private let entries: LedgerEntries
    private let files: Files

    private init(notesCommit: OID?, summary: LedgerSummary, entries: LedgerEntries, files: Files) {
        self.notesCommit = notesCommit
        self.summary = summary
        self.entries = entries
        self.files = files
    }

    /// Where the index is kept; `persistent` false for one in a temporary directory.
    struct Files {
        let entries: String
        let summary: String
        let lock: String
        let persistent: Bool
    }

    /// Each experiment's aggregates.
    var summaries: [String: RunSummary] { summary.experiments }

    /// The newest `limit` records (all when nil) whose entry's key `mayMatch` accepts and for
    /// which `wanted` is true, oldest first; read from the end, so the cost follows what is
    /// returned and what is passed over, and only entries whose key is accepted are decoded.
    func newest(_ limit: Int?, keys mayMatch: (LedgerEntries.Key) -> Bool = { _ in true },
                where wanted: (IndexedRecord) -> Bool = { _ in true }) throws -> [IndexedRecord] {
        guard let limit else { return try entries.records(upTo: summary.length, where: mayMatch).filter(wanted) }
        var found: [IndexedRecord] = []
        var end = summary.length
        while end > LedgerEntries.headerSize, found.count < limit {
            let (frame, start) = try entries.frame(endingAt: end)
            if let record = try LedgerEntries.decode(frame, if: mayMatch), wanted(record) { found.append(record) }
            end = start
        }
        return found.reversed()
    }

    /// Every record, oldest first.
    func all() throws -> [IndexedRecord] { try entries.records(upTo: summary.length) }

    /// The `count` best runs of `experiment` that passed (`RunRecord.passed`; rechecks left out:
    /// they measure a kept commit again), best first, equal values in ledger order. Every entry's
    /// key is looked at in place; only those that enter the running top are decoded.
    func best(_ count: Int, experiment: String, direction: Direction) throws -> [IndexedRecord] {
        guard count > 0 else { return [] }
        var top: [Double] = []
        let candidates = try entries.records(upTo: summary.length) { key in
            guard let value = key.value, key.flags.contains(.passed), key.status != .recheck, key.experiment.elementsEqual(experiment.utf8),
                  top.count < count || direction.isBetter(value, than: top[count - 1]) else { return false }
            top.insert(value, at: top.firstIndex { direction.isBetter(value, than: $0) } ?? top.count)
            if top.count > count { top.removeLast() }
            return true
        }
        let ranked = candidates.enumerated().sorted { a, b in
            let (x, y) = (a.element.value!, b.element.value!)
            return x == y ? a.offset < b.offset : direction.isBetter(x, than: y)
        }
        return ranked.prefix(count).map(\.element)
    }

    /// The latest run of `experiment`.
    func lastRun(experiment: String) throws -> RunEntry? {
        try summaries[experiment]?.last.map { try entries.record(at: $0).record.entry }
    }

    /// The latest run of `experiment` that passed the full stage (`RunRecord.passed`).
    func latestPassingRun(experiment: String) throws -> RunEntry? {
        try summaries[experiment]?.latestPass.map { try entries.record(at: $0).record.entry }
    }

    /// True when a run of `experiment` has a smoke-stage value.
    func ranSmokeStage(experiment: String) -> Bool { summaries[experiment]?.ranSmoke ?? false }

    /// Keeps `memo` in the summary for the next reader, when the index on disk is still this one.
    func remember(_ memo: BaselineMemo, experiment: String) {
        guard files.persistent, summaries[experiment]?.baselineMemo != memo else { return }
        try? FileLock.withLock(files.lock) {
            guard var current = LedgerSummary.read(files.summary), current.generation == summary.generation,
                  current.length == summary.length, current.notesCommit == summary.notesCommit else { return }
            current.experiments[experiment]?.baselineMemo = memo
            try current.write(to: files.summary)
        }
    }

    /// The index of the ledger as it is now: the cached one, brought up to date with the notes
    /// under the index's lock, or rebuilt. A git directory that cannot be written to gets an
    /// index of this process only, in a temporary directory.
    static func current(_ repository: Repository) throws -> LedgerIndex {
        let files = Files(entries: LocalState.ledgerIndexPath(repository), summary: LocalState.ledgerSummaryPath(repository),
                          lock: LocalState.ledgerIndexLockPath(repository), persistent: true)
        if let cached = open(files), cached.notesCommit == (try repository.referenceTarget(Refs.notes)) { return cached }
        do {
            return try FileLock.withLock(files.lock) { try upToDate(files, in: repository) }
        } catch let error as GitError {
            throw error
        } catch {
            let directory = NSTemporaryDirectory() + "autoresearch-ledger-index-\(getpid())-\(UInt32.random(in: 0...UInt32.max))/"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            return try upToDate(Files(entries: directory + "entries", summary: directory + "summary", lock: directory + "lock", persistent: false),
                                in: repository)
        }
    }

    /// The index at `files` as it is now: unchanged, appended to, or rewritten.
    private static func upToDate(_ files: Files, in repository: Repository) throws -> LedgerIndex {
        let target = try repository.referenceTarget(Refs.notes)
        let cached = open(files)
        if let cached, cached.notesCommit == target { return cached }
        if let cached, let appended = try? cached.appending(upTo: target, in: repository) { return appended }
        let records = (try? cached?.recordsMoved(to: target, in: repository)) ?? nil
        return try written(records ?? allRecords(at: target, in: repository), for: target, to: files)
    }

    /// Forgets the cache (its summary), so that the next reader rebuilds it: after a damaged entry.
    static func discard(_ repository: Repository) {
        _ = try? FileLock.withLock(LocalState.ledgerIndexLockPath(repository)) { unlink(LocalState.ledgerSummaryPath(repository)) }
    }

    /// The index in `files`; nil when missing, damaged, or its two files do not belong together.
    private static func open(_ files: Files) -> LedgerIndex? {
        guard let summary = LedgerSummary.read(files.summary), let entries = LedgerEntries.open(files.entries),
              entries.generation == summary.generation, entries.size >= summary.length else { return nil }
        let notesCommit = summary.notesCommit.flatMap(OID.init(hex:))
        guard notesCommit != nil || summary.notesCommit == nil else { return nil }
        return LedgerIndex(notesCommit: notesCommit, summary: summary, entries: entries, files: files)
    }

    /// A new index of `records` at `files`: the entries, then the summary naming them.
    private static func written(_ records: [IndexedRecord], for target: OID?, to files: Files) throws -> LedgerIndex {
        let sorted = records.sorted(by: IndexedRecord.inLedgerOrder)
        let (entries, offsets, length) = try LedgerEntries.create(files.entries, records: sorted)
        var summary = LedgerSummary(notesCommit: target?.hex, generation: entries.generation, length: length)
        summary.add(sorted, at: offsets)
        try summary.write(to: files.summary)
        return LedgerIndex(notesCommit: target, summary: summary, entries: entries, files: files)
    }

    /// This index moved to `target` by appending, when the notes only gained records that come
    /// after every indexed one (new notes, lines appended to notes); nil otherwise.
    private func appending(upTo target: OID?, in repository: Repository) throws -> LedgerIndex? {
        guard let notesCommit, let target else { return nil }
        var added: [IndexedRecord] = []
        for change in try Self.noteChanges(from: notesCommit, to: target, in: repository) {
            guard let newBlob = change.new else { return nil }
            let newBytes = try repository.blob(newBlob)
            var known = 0
            if let oldBlob = change.old {
                let oldBytes = try repository.blob(oldBlob)
                let boundary = oldBytes.isEmpty || oldBytes.last == Self.newline || newBytes.count == oldBytes.count || newBytes[oldBytes.count] == Self.newline
                guard newBytes.starts(with: oldBytes), boundary else { return nil }
                known = Self.records(inNote: oldBytes, on: change.commit).count
            }
            added += Self.records(inNote: newBytes, on: change.commit).dropFirst(known)
        }
        added.sort(by: IndexedRecord.inLedgerOrder)
        if let first = added.first, summary.length > LedgerEntries.headerSize {
            guard IndexedRecord.inLedgerOrder(try entries.record(endingAt: summary.length).record, first) else { return nil }
        }
        let (offsets, length) = try entries.append(added, at: summary.length)
        var next = summary
        next.notesCommit = target.hex
        next.length = length
        next.add(added, at: offsets)
        try next.write(to: files.summary)
        return LedgerIndex(notesCommit: target, summary: next, entries: entries, files: files)
    }

    /// The records of the notes under `target`: the indexed ones of the notes that did not
    /// change, and the records of those that did. Nil when the cached notes commit is unknown here.
    private func recordsMoved(to target: OID?, in repository: Repository) throws -> [IndexedRecord]? {
        guard let target else { return [] }
        guard let notesCommit else { return nil }
        let changes = try Self.noteChanges(from: notesCommit, to: target, in: repository)
        let changed = Set(changes.map(\.commit))
        var records = try all().filter { !changed.contains($0.commit) }
        for change in changes {
            if let blob = change.new { records += Self.records(inNote: try repository.blob(blob), on: change.commit) }
        }
        return records
    }

    /// The notes that differ between two notes commits: the annotated commit, its note blob before and after.
    private static func noteChanges(from old: OID, to new: OID, in repository: Repository) throws -> [(commit: OID, old: OID?, new: OID?)] {
        let oldTree = try repository.commit(old).tree, newTree = try repository.commit(new).tree
        var changes: [OID: (old: OID?, new: OID?)] = [:]
        for path in try repository.changedPaths(from: oldTree, to: newTree) {
            guard let commit = OID(hex: path.replacingOccurrences(of: "/", with: "")) else { continue }
            func blob(in tree: OID) throws -> OID? { try repository.entry(inTree: tree, path: path).flatMap { $0.kind == .blob ? $0.id : nil } }
            let before = try blob(in: oldTree), after = try blob(in: newTree)
            let known = changes[commit]
            changes[commit] = (before ?? known?.old, after ?? known?.new)
        }
        return changes.map { ($0.key, $0.value.old, $0.value.new) }
    }

    /// Every record under the notes commit `target`.
    private static func allRecords(at target: OID?, in repository: Repository) throws -> [IndexedRecord] {
        var records: [IndexedRecord] = []
        guard target != nil else { return records }
        try repository.forEachNote(ref: Refs.notes) { commit, blob in records += Self.records(inNote: try repository.blob(blob), on: commit) }
        return records
    }

    private static let newline = UInt8(ascii: "\n")

    /// The records in a note's text on `commit`, in the note's order.
    private static func records(inNote bytes: [UInt8], on commit: OID) -> [IndexedRecord] {
        var records: [IndexedRecord] = []
        for line in bytes.split(separator: newline) {
            if let record = RunRecord(line: String(decoding: line, as: UTF8.self)) {
                records.append(IndexedRecord(record, line: line, ordinal: records.count, on: commit))
            }
        }
        return records
    }
}

extension LedgerSummary {
    /// Counts `records` (in ledger order, after every record counted so far) at their `offsets`.
    mutating func add(_ records: [IndexedRecord], at offsets: [Int]) {
        for (record, offset) in zip(records, offsets) { experiments[record.experiment, default: RunSummary()].add(record, at: offset) }
        count += records.count
    }
}
