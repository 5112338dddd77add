import Foundation
import Git

/// The names of runs a user can give wherever a run id is asked for.
public enum RunKeyword: String, CaseIterable, Sendable {
    /// The best kept run, the tip of the experiment branch.
    case best
    /// The run the best is measured against.
    case baseline
    /// The newest run, whatever its status.
    case last
}

extension Workspace {
    /// The runs of an experiment, oldest first; with `status`, only those it matches; with
    /// `latest`, only the newest that many, read from the index's end.
    public func runs(experiment name: String, status filter: StatusFilter? = nil, latest limit: Int? = nil) throws -> [RunEntry] {
        try indexedRuns(experiment: name, status: filter, query: nil, latest: limit).map(\.entry)
    }

    /// The runs of an experiment as `runs` gives them, as the index keeps them (a record is
    /// parsed only when asked for), and why each suspect one is suspect, by run id (`RecordTrust`).
    /// When every run of the experiment is listed (no status, no query, no limit), the suspicions
    /// come from the index's fields instead of from one note read per commit: each run's time,
    /// then the trusted keeps grouped by commit in note order.
    /// With `query`, only the runs it matches, checked on the index's fields.
    public func runsWithSuspects(experiment name: String, status filter: StatusFilter? = nil, query: RunQuery? = nil, latest limit: Int? = nil) throws
        -> (runs: [IndexedRecord], suspects: [String: String]) {
        let runs = try indexedRuns(experiment: name, status: filter, query: query, latest: limit)
        guard filter == nil, query == nil, limit == nil else { return (runs, try suspectReasons(on: Set(runs.map(\.commit)), experiment: name)) }
        var suspects: [String: String] = [:], keeps: [OID: [IndexedRecord]] = [:]
        let now = Date()
        for run in runs {
            if let problem = RecordTrust.implausibleTime(run: run.run, start: run.start, now: now) {
                suspects[run.run] = problem
            } else if run.status == .keep {
                keeps[run.commit, default: []].append(run)
            }
        }
        for note in keeps.values where note.count > 1 {
            let inNoteOrder = note.sorted { $0.ordinal < $1.ordinal }
            let reasons = RecordTrust.suspicions(inNoteOrder.map { ($0.run, $0.status, $0.start) }, now: now)
            for (record, reason) in zip(inNoteOrder, reasons) { if let reason { suspects[record.run] = reason } }
        }
        return (runs, suspects)
    }

    /// The experiment's runs in ledger order that `filter` and `query` let through, the newest
    /// `limit` of them (all when nil), read from the index's end without parsing a record: the
    /// experiment, status and time range checked on each entry before it is decoded.
    func indexedRuns(experiment name: String, status filter: StatusFilter?, query: RunQuery?, latest limit: Int?) throws -> [IndexedRecord] {
        try ledger.withIndex { index in
            try index.newest(limit, keys: { key in
                key.experiment.elementsEqual(name.utf8) && (filter?.matches(status: key.status, isBaseline: key.flags.contains(.baseline)) ?? true)
                    && (query?.inTimeRange(key.startSeconds) ?? true)
            }, where: { query?.matches($0) ?? true })
        }
    }

    /// The best commit of an experiment with its record, and the baseline it is measured
    /// against, read along the branch only (not the whole ledger).
    public func best(experiment name: String) throws -> (best: RunEntry, baseline: RunRecord?, experiment: Experiment)? {
        let context = context(name)
        let tip = try context.tip()
        let found = try ledger.withIndex { try context.ledger.reading(through: $0).bestAndBaseline(experiment: name, from: tip) }
        guard let found else { return nil }
        return (found.best, found.baseline, try context.configuration(at: tip))
    }

    /// The run a user names: `best`, `baseline` or `last` (of `experiment`, default the current
    /// one); a run id, or an abbreviation of it from either end (`20261202-0154`, or its random
    /// part `a1b2c3`); or a commit-ish (hash prefix, branch, `HEAD~2`) for the run on that commit.
    /// Runs of `experiment` only, when given. Several runs matching is an error listing them.
    public func run(named name: String, experiment: String? = nil) throws -> RunEntry {
        if let keyword = RunKeyword(rawValue: name) { return try run(keyword, experiment: resolveExperimentName(experiment)) }
        let commit = try repository.resolveCommit(name)
        let named = Array(name.utf8), commitHex = commit.map { Array($0.hex.utf8) }
        let records = try ledger.withIndex { index in
            try index.newest(nil, keys: { key in
                key.run.elementsEqual(named) || (!named.isEmpty && (key.run.starts(with: named) || key.run.reversed().starts(with: named.reversed())))
                    || commitHex.map(key.commit.elementsEqual) == true
            })
        }.filter { experiment == nil || $0.experiment == experiment }
        if let exact = records.first(where: { $0.run == name }) { return exact.entry }
        var matches = name.isEmpty ? [] : records.filter { $0.run.hasPrefix(name) || $0.run.hasSuffix(name) }
        if let commit { matches += records.filter { $0.commit == commit } }
        var seen = Set<String>()
        let candidates = matches.filter { seen.insert($0.run).inserted }
        guard let match = candidates.first else {
            throw AutoresearchError("no run '\(name)'\(experiment.map { " in experiment '\($0)'" } ?? "")",
                                    hint: "name a run by its id (or a unique part of it from either end), its commit, or best, baseline, last; list them with 'git autoresearch log'")
        }
        guard candidates.count == 1 else {
            let listed = candidates.prefix(10).map { "\($0.run) \($0.status.rawValue) on \($0.commit.short) (\($0.experiment))" }
            throw AutoresearchError("'\(name)' names \(candidates.count) runs: \(listed.joined(separator: "; "))\(candidates.count > 10 ? "; …" : "")",
                                    hint: "give more of the run id, or one of the ids above")
        }
        return match.entry
    }

    /// The run a keyword names in experiment `name`.
    private func run(_ keyword: RunKeyword, experiment name: String) throws -> RunEntry {
        let missing = AutoresearchError("experiment '\(name)' has no \(keyword.rawValue) run yet", hint: "measure the baseline with 'git autoresearch run'")
        switch keyword {
        case .last:
            guard let last = try runs(experiment: name, latest: 1).last else { throw missing }
            return last
        case .best:
            guard let best = try best(experiment: name)?.best else { throw missing }
            return best
        case .baseline:
            guard let run = try best(experiment: name)?.baseline?.run,
                  let baseline = try ledger.withIndex({ try $0.newest(nil, keys: { $0.run.elementsEqual(run.utf8) }) })
                    .first(where: { $0.run == run && $0.experiment == name }) else { throw missing }
            return baseline.entry
        }
    }

    /// The last lines of a run's log, as kept in git with its record.
    public func logTail(of run: RunEntry) throws -> [String] {
        try ledger.logTail(run: run.record.run, on: run.commit)
    }

    /// The change a run evaluated: the patch from its commit's first parent to the commit.
    public func patch(of run: RunEntry) throws -> String {
        try repository.diffPatch(from: try repository.commit(run.commit).parents.first, to: run.commit)
    }
}
