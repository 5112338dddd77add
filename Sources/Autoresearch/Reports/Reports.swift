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
    /// `latest`, only the newest that many, and only the records that may match are parsed.
    public func runs(experiment name: String, status filter: StatusFilter? = nil, latest limit: Int? = nil) throws -> [RunEntry] {
        var selected: [RunEntry] = []
        for record in try ledger.currentIndex().records.reversed() where selected.count < limit ?? .max {
            guard record.experiment == name, filter?.mayMatch(record.status) ?? true, let entry = record.entry,
                  filter?.matches(entry.record) ?? true else { continue }
            selected.append(entry)
        }
        return selected.reversed()
    }

    /// The best commit of an experiment with its record, and the baseline it is measured
    /// against, read along the branch only (not the whole ledger).
    public func best(experiment name: String) throws -> (best: RunEntry, baseline: RunRecord?, experiment: Experiment)? {
        let context = context(name)
        let tip = try context.tip()
        let ledger = context.ledger.reading(through: try ledger.currentIndex())
        guard let found = try ledger.bestAndBaseline(experiment: name, from: tip) else { return nil }
        return (found.best, found.baseline, try context.configuration(at: tip))
    }

    /// The run a user names: `best`, `baseline` or `last` (of `experiment`, default the current
    /// one); a run id, or an abbreviation of it from either end (`20261202-0154`, or its random
    /// part `a1b2c3`); or a commit-ish (hash prefix, branch, `HEAD~2`) for the run on that commit.
    /// Runs of `experiment` only, when given. Several runs matching is an error listing them.
    public func run(named name: String, experiment: String? = nil) throws -> RunEntry {
        if let keyword = RunKeyword(rawValue: name) { return try run(keyword, experiment: resolveExperimentName(experiment)) }
        let records = try ledger.currentIndex().records.filter { experiment == nil || $0.experiment == experiment }
        if let exact = records.first(where: { $0.run == name })?.entry { return exact }
        var matches = name.isEmpty ? [] : records.filter { $0.run.hasPrefix(name) || $0.run.hasSuffix(name) }
        if let commit = try repository.resolveCommit(name) { matches += records.filter { $0.commit == commit } }
        var seen = Set<String>()
        let candidates = matches.filter { seen.insert($0.run).inserted }.compactMap(\.entry)
        guard let match = candidates.first else {
            throw AutoresearchError("no run '\(name)'\(experiment.map { " in experiment '\($0)'" } ?? "")",
                                    hint: "name a run by its id (or a unique part of it from either end), its commit, or best, baseline, last; list them with 'git autoresearch log'")
        }
        guard candidates.count == 1 else {
            let listed = candidates.prefix(10).map { "\($0.record.run) \($0.record.status.rawValue) on \($0.commit.short) (\($0.record.experiment))" }
            throw AutoresearchError("'\(name)' names \(candidates.count) runs: \(listed.joined(separator: "; "))\(candidates.count > 10 ? "; …" : "")",
                                    hint: "give more of the run id, or one of the ids above")
        }
        return match
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
                  let baseline = try ledger.currentIndex().records.first(where: { $0.run == run && $0.experiment == name })?.entry else { throw missing }
            return baseline
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
