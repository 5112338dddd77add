import Foundation
import Git

/// Where an experiment stands.
public struct ExperimentStatus: Sendable {
    public let experiment: Experiment
    public let branch: String
    /// The branch tip.
    public let tip: OID
    public let best: (commit: OID, record: RunRecord)?
    public let baseline: RunRecord?
    /// Runs so far by status (statuses with no run left out).
    public let counts: [(status: RunStatus, count: Int)]
    public let runs: Int
    public let lastRun: RunRecord?
    /// The pid of a live process working on the experiment, if any.
    public let lockHolder: Int32?
    /// What was repaired on the way (an unfinished run left by a killed process).
    public let repaired: String?

    /// The relative change from baseline to best, signed so that positive means better.
    public var improvement: Double? {
        guard let base = baseline?.value, let bestValue = best?.record.value, base != 0 else { return nil }
        let change = (bestValue - base) / abs(base)
        return experiment.direction == .lower ? -change : change
    }
}

extension Workspace {
    /// The status of an experiment. Repairs an unfinished run first when no process holds the lock.
    public func status(experiment name: String) throws -> ExperimentStatus {
        let state = LocalState(gitDirectory: repository.gitDirectory, experiment: name)
        var repaired: String?
        if state.readMarker() != nil, state.lockHolder() == nil {
            try state.acquireLock(experiment: name)
            defer { state.releaseLock() }
            repaired = try repairUnfinishedIteration(experiment: name, state: state)
        }
        let branch = Experiment.branch(name)
        let tip = try branchTip(of: name)
        let experiment = try self.experiment(named: name, at: tip)
        let ledger = Ledger(repository: repository)
        let records = try ledger.allRecords(experiment: name).map(\.record)
        let counts = RunStatus.allCases.compactMap { status -> (RunStatus, Int)? in
            let count = records.filter { $0.status == status }.count
            return count > 0 ? (status, count) : nil
        }
        return ExperimentStatus(experiment: experiment, branch: branch, tip: tip,
                                best: try ledger.best(experiment: name, from: tip),
                                baseline: records.first(where: \.isBaseline), counts: counts, runs: records.count,
                                lastRun: records.last, lockHolder: state.lockHolder(), repaired: repaired)
    }
}
