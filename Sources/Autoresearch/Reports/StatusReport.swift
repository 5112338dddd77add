import Foundation
import Git

/// Where an experiment stands.
public struct ExperimentStatus: Sendable {
    public let experiment: Experiment
    public let branch: String
    /// The branch tip; when the branch is gone, the best commit in the attempts chain.
    public let tip: OID
    /// When the branch is gone: the command that brings it back at `tip`.
    public let restoreCommand: String?
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
        let contexts = names.map { context($0) }
        for context in contexts {
            guard context.state.readMarker() != nil, context.state.lockHolder() == nil else { continue }
            let lock = try context.state.lock(experiment: context.name)
            defer { lock.release() }
            repaired[context.name] = try context.repairUnfinishedIteration()
        }
        var recordsByExperiment: [String: [RunRecord]] = [:]
        for record in try ledger.allRecords() { recordsByExperiment[record.experiment, default: []].append(record) }
        return try contexts.map { context in
            let name = context.name
            let (tip, branchGone) = try context.tipOrRestorePoint()
            let records = recordsByExperiment[name] ?? []
            let counts = RunStatus.allCases.compactMap { status -> (RunStatus, Int)? in
                let count = records.filter { $0.status == status }.count
                return count > 0 ? (status, count) : nil
            }
            let standing = try ledger.bestAndBaseline(experiment: name, from: tip)
            return ExperimentStatus(experiment: try context.configuration(at: tip), branch: context.refs.branch.fullName, tip: tip,
                                    restoreCommand: branchGone ? context.restoreCommand(at: tip) : nil,
                                    best: standing?.best, baseline: standing?.baseline, counts: counts, runs: records.count,
                                    lastRun: records.last,
                                    lockHolder: context.state.lockHolder(),
                                    repaired: repaired[name], workers: context.liveWorkers())
        }
    }
}
