import Foundation
import Git

/// One run: its record and the commit the record is on.
public struct RunEntry: Sendable {
    public let commit: OID
    public let record: RunRecord

    public init(commit: OID, record: RunRecord) {
        self.commit = commit
        self.record = record
    }
}

/// A record the best is not taken from (`RecordTrust`): the commit it is on, and why.
public struct SuspectRecord: Sendable {
    public let commit: OID
    public let record: RunRecord
    public let reason: String

    /// One line for people: the run, its commit and status, the reason.
    public var summary: String { "run \(record.run) (\(record.status.rawValue) on \(commit.short)): \(reason)" }
}

/// The run records of a repository: one logfmt line per run in the git note of the evaluated
/// commit under `refs/notes/autoresearch`, and a chain of attempt commits per experiment under
/// `refs/autoresearch/NAME/attempts` that keeps every evaluated commit reachable.
public struct Ledger {
    let repository: Repository
    /// Where a stale lock file removed before a retry is reported.
    var notice: (String) -> Void = { _ in }
    /// For readers: the ledger index they read through (see `reading(through:)`).
    private(set) var index: LedgerIndex?

    public init(repository: Repository) { self.repository = repository }

    /// Lines of a run's log kept in git.
    public static let keptLogLines = 20

    /// The records of `experiment` on one commit, oldest first.
    public func records(on commit: OID, experiment: String) throws -> [RunRecord] {
        guard let note = try repository.note(ref: Refs.notes, on: commit) else { return [] }
        return RunRecord.parseAll(note).filter { $0.experiment == experiment }
    }

    /// Appends a record to the note of `commit`, followed by the last lines of the run's log
    /// (`LogTailLine`): one notes commit for both.
    public func append(_ record: RunRecord, logTail: [String] = [], on commit: OID) throws {
        let lines = [record.line] + logTail.suffix(Ledger.keptLogLines).enumerated().map { LogTailLine.format($1, number: $0 + 1, run: record.run) }
        try write(Refs.notes) {
            try repository.appendNote(ref: Refs.notes, on: commit, text: lines.joined(separator: "\n"),
                                      message: "autoresearch: \(record.experiment) run \(record.run) \(record.status.rawValue)")
        }
    }

    /// Makes `commit` reachable from the experiment's attempts chain: one small commit (empty
    /// tree) whose parents are the previous chain tip and the attempt. Compare-and-swap, retried.
    public func recordAttempt(_ commit: OID, experiment: String, run: String) throws {
        try link(commit, tree: try repository.emptyTree(), experiment: experiment, kind: "attempt", run: run)
    }

    /// Makes a run's artifact tree reachable: a link of the attempts chain whose tree is the
    /// artifacts and whose parents are the previous chain tip and the run's commit.
    public func linkArtifacts(_ tree: OID, of commit: OID, experiment: String, run: String) throws {
        try link(commit, tree: tree, experiment: experiment, kind: "artifacts", run: run)
    }

    /// Adds a link to the attempts chain: `tree`, parents the chain tip and `commit`, message
    /// `autoresearch: NAME KIND RUN`.
    private func link(_ commit: OID, tree: OID, experiment: String, kind: String, run: String) throws {
        let attempts = Refs(experiment).attempts
        try write(attempts) {
            try repository.updateReference(attempts, message: "autoresearch: \(kind) \(run)") { previous in
                try repository.createCommit(tree: tree, parents: (previous.map { [$0] } ?? []) + [commit],
                                            message: "autoresearch: \(experiment) \(kind) \(run)\n")
            }
        }
    }

    /// Runs `update` of our reference `ref`, once more after removing a stale lock file on it.
    private func write(_ ref: ReferenceName, _ update: () throws -> Void) throws {
        try StaleLocks.retrying(ref, in: repository, notice: notice, update)
    }

    /// The records of `experiment` on one commit the best may be taken from (`RecordTrust`), oldest first.
    func trustedRecords(on commit: OID, experiment: String) throws -> [RunRecord] {
        let records = try records(on: commit, experiment: experiment)
        return zip(records, RecordTrust.suspicions(records)).compactMap { $1 == nil ? $0 : nil }
    }

    /// The suspect records of `experiment` on one commit (`RecordTrust`), in note order, with why.
    public func suspects(on commit: OID, experiment: String) throws -> [SuspectRecord] {
        let records = try records(on: commit, experiment: experiment)
        return zip(records, RecordTrust.suspicions(records)).compactMap { record, reason in
            reason.map { SuspectRecord(commit: commit, record: record, reason: $0) }
        }
    }

    /// The record holding the best's value on `commit` (its keep, or the latest recheck), if any.
    public func bestRecord(on commit: OID, experiment: String) throws -> RunRecord? {
        try trustedRecords(on: commit, experiment: experiment).last { $0.status.holdsBest }
    }

    /// The best commit at or below `tip`: the nearest first-parent ancestor with a trusted keep
    /// record for the experiment, with its latest trusted keep or recheck record. Nil before the baseline.
    public func best(experiment: String, from tip: OID) throws -> RunEntry? {
        try nearest(experiment: experiment, from: tip) { $0.status.holdsBest }
    }

    /// The latest runs of `experiment` with the commit each record is on, newest first, read from
    /// the attempts chain, so the cost depends on `limit`, not on the size of the ledger.
    public func recentRuns(experiment: String, limit: Int) throws -> [RunEntry] {
        var runs: [RunEntry] = []
        guard limit > 0 else { return runs }
        try walkAttempts(experiment: experiment) { run in
            runs.append(run)
            return runs.count < limit
        }
        return runs
    }

    /// The latest run of `experiment` that holds the best (a keep or a recheck), found along the
    /// attempts chain, which keeps its commit: where a deleted experiment branch stood. Nil when
    /// no run was kept.
    public func latestBestRun(experiment: String) throws -> RunEntry? {
        var found: RunEntry?
        try walkAttempts(experiment: experiment) { run in
            if run.record.status.holdsBest { found = run }
            return found == nil
        }
        return found
    }

    /// Visits the runs linked in the attempts chain of `experiment`, newest first, while `visit`
    /// returns true. Every run links its commit there; runs without a record yet are left out.
    private func walkAttempts(experiment: String, _ visit: (RunEntry) throws -> Bool) throws {
        var seen = Set<String>()
        var link = try repository.referenceTarget(Refs(experiment).attempts)
        while let current = link {
            let info = try commitInHistory(current)
            link = info.parents.count > 1 ? info.parents.first : nil
            guard let commit = info.parents.last,
                  let run = info.message.prefix(while: { $0 != "\n" }).split(separator: " ").last.map(String.init),
                  seen.insert(run).inserted,
                  let record = try records(on: commit, experiment: experiment).last(where: { $0.run == run }) else { continue }
            if try !visit(RunEntry(commit: commit, record: record)) { return }
        }
    }

    /// The best commit at or below `tip`, and the baseline it is measured against: the nearest
    /// baseline record at or below the best commit (an older one belongs to an older
    /// configuration or evaluator), as last measured: a recheck of the baseline commit measures
    /// the baseline again. Reads along the branch only.
    public func bestAndBaseline(experiment: String, from tip: OID) throws -> (best: RunEntry, baseline: RunRecord?)? {
        guard let best = try best(experiment: experiment, from: tip) else { return nil }
        guard let baseline = try nearestBaseline(experiment: experiment, from: best.commit) else { return (best, nil) }
        return (best, baseline.commit == best.commit ? best.record : try bestRecord(on: baseline.commit, experiment: experiment))
    }

    /// The nearest first-parent ancestor of `commit` (or `commit`) with a trusted baseline record
    /// of `experiment`. Through the index, only the commits the summary names as baselines have
    /// their notes read, and the walk stops where the memo of the last walk knows the answer;
    /// a walk that passed no suspect baseline is remembered for the next reader.
    private func nearestBaseline(experiment: String, from commit: OID) throws -> RunEntry? {
        guard let index else { return try nearest(experiment: experiment, from: commit, where: \.isBaseline) }
        let summary = index.summaries[experiment] ?? RunSummary()
        let candidates = Set(summary.baselineCommits.compactMap(OID.init(hex:)))
        var current: OID? = commit
        var passedSuspect = false
        while let visited = current {
            if let memo = summary.baselineMemo, memo.commit == visited.hex {
                guard let baseline = memo.baseline.flatMap(OID.init(hex:)) else { return nil }
                if let record = try trustedRecords(on: baseline, experiment: experiment).last(where: \.isBaseline) {
                    return RunEntry(commit: baseline, record: record)
                }
            }
            if candidates.contains(visited) {
                if let record = try trustedRecords(on: visited, experiment: experiment).last(where: \.isBaseline) {
                    if !passedSuspect { index.remember(BaselineMemo(commit: commit.hex, baseline: visited.hex), experiment: experiment) }
                    return RunEntry(commit: visited, record: record)
                }
                passedSuspect = true
            }
            current = try commitInHistory(visited).parents.first
        }
        if !passedSuspect { index.remember(BaselineMemo(commit: commit.hex, baseline: nil), experiment: experiment) }
        return nil
    }

    /// The nearest first-parent ancestor of `tip` (or `tip`) with a trusted record of `experiment`
    /// matching `wanted`, with its last such record.
    private func nearest(experiment: String, from tip: OID, where wanted: (RunRecord) -> Bool) throws -> RunEntry? {
        var current: OID? = tip
        while let commit = current {
            if let record = try trustedRecords(on: commit, experiment: experiment).last(where: wanted) { return RunEntry(commit: commit, record: record) }
            current = try commitInHistory(commit).parents.first
        }
        return nil
    }

    /// A commit reached by walking history. In a shallow clone the walk can pass its boundary,
    /// where the parents were not fetched: that is an error saying so, not "object not found".
    private func commitInHistory(_ id: OID) throws -> CommitInfo {
        do {
            return try repository.commit(id)
        } catch let error as GitError where error.isNotFound && repository.isShallow {
            throw AutoresearchError.shallowClone("commit \(id.short), further back in history, was not fetched")
        }
    }

    /// Every record in the ledger with the commit it is on, oldest first (by start time, then run
    /// id), read through the ledger index: for reports, not for the per-run path.
    public func allRuns() throws -> [RunEntry] {
        try withIndex { try $0.all() }.compactMap(\.entry)
    }

    /// `body` on the index of the ledger as it is now (or the one this ledger reads through);
    /// when an entry it reads is damaged, once more on an index rebuilt from the notes.
    func withIndex<T>(_ body: (LedgerIndex) throws -> T) throws -> T {
        if let index { return try body(index) }
        do {
            return try body(try LedgerIndex.current(repository))
        } catch is LedgerEntries.Damaged {
            LedgerIndex.discard(repository)
            return try body(try LedgerIndex.current(repository))
        }
    }

    /// This ledger reading through `index` (the baselines it names, the memo of the last walk):
    /// for commands that only read, not for a run that appends records.
    func reading(through index: LedgerIndex) -> Ledger {
        var ledger = self
        ledger.index = index
        return ledger
    }

    /// The log lines kept in git for `run` on `commit`, in order: in the record's note, or, for
    /// runs recorded by earlier versions, in `refs/notes/autoresearch-logs` (`RUN NNN TEXT` a line).
    public func logTail(run: String, on commit: OID) throws -> [String] {
        let kept = try repository.note(ref: Refs.notes, on: commit).map { LogTailLine.lines(of: run, in: $0) } ?? []
        guard kept.isEmpty, let note = try repository.note(ref: Refs.logs, on: commit) else { return kept }
        let numbered = note.split(separator: "\n").compactMap { line -> (number: Int, text: String)? in
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0] == run else { return nil }
            return (Int(parts[1]) ?? 0, parts.count > 2 ? String(parts[2]) : "")
        }
        return numbered.sorted { $0.number < $1.number }.map(\.text)
    }
}

/// A line of a run's log kept in the note of its record, after the record:
/// `log=NNN run=RUN text=TEXT` (logfmt, `TEXT` quoted as needed). It has no `v`, so no reader,
/// of this version or an older one, takes it for a record, whatever the log printed.
enum LogTailLine {
    /// Line `number` of the log: `log=001` on.
    static func format(_ text: String, number: Int, run: String) -> String {
        "log=\(String(number).zeroPadded(to: 3)) run=\(Logfmt.quote(run)) text=\(Logfmt.quote(text.contains("\r") ? text.replacingOccurrences(of: "\r", with: "") : text))"
    }

    /// Whether `line` of a note is one (checked before any parsing: notes hold many).
    static func isOne(_ line: Substring) -> Bool { line.utf8.starts(with: "log=".utf8) }

    /// The log lines of `run` kept in `note`, in order.
    static func lines(of run: String, in note: String) -> [String] {
        let numbered = note.split(separator: "\n").filter(isOne).compactMap { line -> (number: Int, text: String)? in
            let fields = Dictionary(Logfmt.parse(String(line)).map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
            guard fields["run"] == run, let number = fields["log"].flatMap({ Int($0) }) else { return nil }
            return (number, fields["text"] ?? "")
        }
        return numbered.sorted { $0.number < $1.number }.map(\.text)
    }
}
