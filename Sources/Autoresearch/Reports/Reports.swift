import Foundation
import Git

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

    /// The run with this id (or a unique prefix of it), in any experiment.
    public func run(_ id: String) throws -> RunEntry {
        let matches = try ledger.currentIndex().records.filter { $0.run.hasPrefix(id) }.compactMap(\.entry)
        guard let match = matches.first else {
            throw AutoresearchError("no run '\(id)'", hint: "list the runs with 'git autoresearch log'")
        }
        guard Set(matches.map(\.record.run)).count == 1 else {
            throw AutoresearchError("'\(id)' names several runs", hint: "give more of the run id")
        }
        return match
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
