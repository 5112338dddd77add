import Foundation
import Git

/// Which records `prune` removes: those matching every criterion given.
public struct PruneSelection: Sendable {
    /// Runs of this experiment only (nil: of every experiment).
    public var experiment: String?
    /// Runs with one of these statuses (empty: any).
    public var statuses: Set<RunStatus> = []
    /// Runs named as `show` names them (empty: any).
    public var runs: [String] = []
    /// Runs that started before this time.
    public var before: Date?

    public init() {}
}

/// What `prune` removed (or, on a dry run, would remove), and the records it kept.
public struct PruneResult: Sendable {
    public let removed: [RunEntry]
    /// Records the selection matched that hold an experiment's best or baseline, with which: kept.
    public let kept: [(entry: RunEntry, role: String)]
}

extension Workspace {
    /// Removes the records `selection` matches from the ledger (nothing on a `dryRun`), leaving a
    /// tombstone for each so that a pull does not bring them back (`pull --resurrect` does). The
    /// records of each experiment's best and baseline are kept; naming one of them is an error.
    /// The attempts chains keep the runs' commits reachable; artifacts and commits stay.
    public func prune(_ selection: PruneSelection, dryRun: Bool) throws -> PruneResult {
        guard !selection.statuses.isEmpty || !selection.runs.isEmpty || selection.before != nil else {
            throw AutoresearchError("say which records to remove", hint: "name run ids, or give --status, --before (with --experiment to narrow it)")
        }
        let experiment = try selection.experiment.map { try resolveExperimentName($0) }
        let named = try selection.runs.map { try run(named: $0, experiment: experiment) }
        let pool = named.isEmpty ? try ledger.allRuns().filter { experiment == nil || $0.record.experiment == experiment } : named
        let matched = pool.filter { entry in
            (selection.statuses.isEmpty || selection.statuses.contains(entry.record.status))
                && selection.before.map { entry.record.start < $0 } ?? true
        }
        var roles: [String: String] = [:]
        for name in Set(matched.map(\.record.experiment)) { roles.merge(try protectedRuns(of: name)) { first, _ in first } }
        if let named = named.first(where: { roles[$0.record.run] != nil }) {
            throw AutoresearchError("run \(named.record.run) is the \(roles[named.record.run]!) record of experiment '\(named.record.experiment)'; nothing was pruned",
                                    hint: "prune keeps the best's and the baseline's records; leave that run out")
        }
        let removed = matched.filter { roles[$0.record.run] == nil }
        if !dryRun, !removed.isEmpty { try ledger.prune(removed, host: Self.hostName, at: Date()) }
        return PruneResult(removed: removed, kept: matched.compactMap { entry in roles[entry.record.run].map { (entry, $0) } })
    }

    /// The runs of experiment `name` that prune keeps, with their role: the records holding its
    /// best and its baseline (the keep and rechecks on the best commit and on the baseline's).
    private func protectedRuns(of name: String) throws -> [String: String] {
        let context = context(name)
        guard let tip = try? context.tipOrRestorePoint().commit,
              let standing = try ledger.bestAndBaseline(experiment: name, from: tip) else { return [:] }
        var commits = [(standing.best.commit, "best")]
        if let baseline = standing.baseline { commits.append((try run(named: baseline.run, experiment: name).commit, "baseline")) }
        var roles: [String: String] = [:]
        for (commit, role) in commits {
            for record in try ledger.trustedRecords(on: commit, experiment: name) where record.status.holdsBest {
                roles[record.run] = roles[record.run] ?? role
            }
        }
        return roles
    }
}
