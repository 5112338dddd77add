import Foundation
import Git

extension Workspace {
    /// Measures the best commit again (the full stage, with its repeats), so that the best is
    /// not a lucky draw: the best's value becomes the median of all its samples, and its noise
    /// width is estimated from them. When the pooled value is no longer better than the best it
    /// replaced, the record and a warning say so.
    public func recheck(experiment name: String, events: RunEvents = RunEvents()) throws -> RunOutcome {
        let context = context(name, events: events)
        return try context.withLock {
            let tip = try context.tip()
            try context.enterBranch(context.refs.branch)
            guard let best = try context.ledger.best(experiment: name, from: tip) else {
                throw AutoresearchError("experiment '\(name)' has no best yet", hint: "measure the baseline first: git autoresearch run")
            }
            let experiment = try context.configuration(at: tip)
            guard try context.sameTree(tip, best.commit) || context.carriesBest(best.commit, at: tip, experiment: experiment),
                  try context.workTreeChanges().isEmpty else {
                throw AutoresearchError("autoresearch/\(name) has changes beyond the best commit \(best.commit.short); a recheck measures the best itself",
                                        hint: "evaluate them first with 'git autoresearch run', or reset them away (git stash -u)")
            }
            return try context.recheck(best, branch: context.refs.branch, base: tip, experiment: experiment)
        }
    }
}

extension ExperimentContext {
    /// Measures `best` again, under the lock, on a clean work tree holding the best's files:
    /// `branch` at `base`, where it stays.
    func recheck(_ best: RunEntry, branch: ReferenceName, base: OID, experiment: Experiment) throws -> RunOutcome {
        let run = RunID.make()
        let marker = LocalState.Marker(phase: .evaluation, run: run, candidate: best.commit.hex, best: base.hex,
                                       branch: branch.fullName, start: Date(),
                                       description: "recheck of the best (run \(best.record.run))", userFiles: markedUserFiles,
                                       workerInClone: workerInClone)
        try ledger.recordAttempt(best.commit, experiment: name, run: run)
        try state.writeMarker(marker)
        let (record, evaluation) = try evaluateAndRecord(best.commit, experiment: experiment, best: best.record, marker: marker,
                                                         includeSmoke: false) { evaluation in
            try pooledDecision(best, remeasured: evaluation, experiment: experiment)
        }
        if try !workTreeChanges().isEmpty { try resetHard(to: base) }
        state.removeMarker()
        return RunOutcome(record: record, commit: best.commit, bestBefore: best.commit, logPath: state.logPath(run: run), tail: evaluation.tail)
    }

    /// The recheck's record: the best's value becomes the median of all its samples, its noise
    /// width is estimated from them, and a best that no longer beats the one it replaced is said so.
    private func pooledDecision(_ best: RunEntry, remeasured evaluation: Evaluation, experiment: Experiment) throws -> Decision {
        let earlier = try ledger.trustedRecords(on: best.commit, experiment: name).filter(\.status.holdsBest)
        let pooled = earlier.flatMap(\.ownSamples) + evaluation.samples
        var decision = Decision(status: .recheck, reason: nil, bestBefore: best.record.value,
                                noise: Statistics.noiseWidth(pooled) ?? best.record.noise,
                                value: Statistics.median(pooled), samples: evaluation.samples)
        decision.smokeValue = best.record.smokeValue
        if let replaced = earlier.first(where: { $0.status == .keep })?.bestBefore, let pooledValue = decision.value,
           !experiment.direction.isBetter(pooledValue, than: replaced) {
            let reason = "the best no longer holds: re-measured at \(Number.format(Statistics.median(evaluation.samples) ?? pooledValue)), its value over \(pooled.count) samples is \(Number.format(pooledValue)), not better than the \(Number.format(replaced)) it replaced"
            decision.reason = reason
            events.notice("WARNING: \(reason) (commit \(best.commit.short))")
        }
        return decision
    }
}

extension RunRecord {
    /// The values this run measured itself: its samples (a recheck always lists them), else its value.
    var ownSamples: [Double] {
        status == .recheck || !samples.isEmpty ? samples : value.map { [$0] } ?? []
    }
}
