import Foundation
import Git

/// Where an experiment stands.
public struct ExperimentStatus: Sendable {
    public let experiment: Experiment
    public let branch: String
    /// The branch tip.
    public let tip: OID
    public let best: RunEntry?
    /// The baseline the best is measured against (the nearest one below it).
    public let baseline: RunRecord?
    /// Runs so far by status (statuses with no run left out).
    public let counts: [(status: RunStatus, count: Int)]
    public let runs: Int
    public let lastRun: RunRecord?
    /// The pid of a live process working on the experiment, if any.
    public let lockHolder: Int32?
    /// What was repaired on the way (an unfinished run left by a killed process).
    public let repaired: String?
    /// The parallel workers running now (`loop --jobs`), by number.
    public let workers: [WorkerState]

    /// The relative change from baseline to best, signed so that positive means better.
    public var improvement: Double? {
        guard let base = baseline?.value, let bestValue = best?.record.value else { return nil }
        return experiment.direction.improvement(from: base, to: bestValue)
    }
}

extension Workspace {
    /// The status of an experiment. Repairs an unfinished run first when no process holds the lock.
    public func status(experiment name: String) throws -> ExperimentStatus {
        try statuses(of: [name])[0]
    }

    /// The status of several experiments, reading the ledger once for all of them. Repairs
    /// unfinished runs first where no process holds the lock.
    public func statuses(of names: [String]) throws -> [ExperimentStatus] {
        var repaired: [String: String] = [:]
        for name in names {
            let state = LocalState(repository: repository, experiment: name)
            guard state.readMarker() != nil, state.lockHolder() == nil else { continue }
            let lock = try state.lock(experiment: name)
            defer { lock.release() }
            repaired[name] = try repairUnfinishedIteration(experiment: name, state: state)
        }
        let ledger = Ledger(repository: repository)
        var recordsByExperiment: [String: [RunRecord]] = [:]
        for record in try ledger.allRecords() { recordsByExperiment[record.experiment, default: []].append(record) }
        return try names.map { name in
            let tip = try branchTip(of: name)
            let records = recordsByExperiment[name] ?? []
            let counts = RunStatus.allCases.compactMap { status -> (RunStatus, Int)? in
                let count = records.filter { $0.status == status }.count
                return count > 0 ? (status, count) : nil
            }
            let standing = try ledger.bestAndBaseline(experiment: name, from: tip)
            return ExperimentStatus(experiment: try experiment(named: name, at: tip), branch: Refs(name).branch, tip: tip,
                                    best: standing?.best, baseline: standing?.baseline, counts: counts, runs: records.count,
                                    lastRun: records.last,
                                    lockHolder: LocalState(repository: repository, experiment: name).lockHolder(),
                                    repaired: repaired[name], workers: liveWorkers(experiment: name))
        }
    }
}
