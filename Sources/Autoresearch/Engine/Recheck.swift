import Foundation
import Git

extension Workspace {
    /// Measures the best commit again (the full stage, with its repeats), so that the best is
    /// not a lucky draw: the best's value becomes the median of all its samples, and its noise
    /// width is estimated from them. When the pooled value is no longer better than the best it
    /// replaced, the record and a warning say so.
    public func recheck(experiment name: String, events: RunEvents = RunEvents()) throws -> RunOutcome {
        try withLock(experiment: name, events: events) { state in
            try enterBranch(Experiment.branch(name), experiment: name, events: events)
            let tip = try branchTip(of: name)
            guard let best = try Ledger(repository: repository).best(experiment: name, from: tip) else {
                throw AutoresearchError("experiment '\(name)' has no best yet", hint: "measure the baseline first: git autoresearch run")
            }
            let experiment = try self.experiment(named: name, at: tip)
            guard try sameTree(tip, best.commit) || carriesBest(best.commit, at: tip, experiment: experiment),
                  try repository.status().isEmpty else {
                throw AutoresearchError("autoresearch/\(name) has changes beyond the best commit \(best.commit.short); a recheck measures the best itself",
                                        hint: "evaluate them first with 'git autoresearch run', or reset them away (git stash -u)")
            }
            return try recheck(best, branch: Experiment.branch(name), base: tip, experiment: experiment,
                               state: state, events: events)
        }
    }

    /// Measures `best` again, under the lock, on a clean work tree holding the best's files:
    /// `branch` at `base`, where it stays.
    func recheck(_ best: RunEntry, branch: String, base: OID, experiment: Experiment, state: LocalState,
                 events: RunEvents) throws -> RunOutcome {
        let ledger = Ledger(repository: repository)
        let run = RunID.make()
        let marker = LocalState.Marker(phase: .evaluation, run: run, candidate: best.commit.hex, best: base.hex,
                                       branch: branch, start: Date(),
                                       description: "recheck of the best (run \(best.record.run))")
        try ledger.recordAttempt(best.commit, experiment: experiment.name, run: run)
        try state.writeMarker(marker)
        let (record, evaluation) = try evaluateAndRecord(best.commit, experiment: experiment, best: best.record, marker: marker,
                                                         includeSmoke: false, state: state, events: events) { record, evaluation in
            guard record.status == .keep else { return }
            let earlier = try ledger.records(on: best.commit, experiment: experiment.name).filter(\.status.holdsBest)
            let pooled = earlier.flatMap(\.ownSamples) + evaluation.samples
            record.status = .recheck
            record.samples = evaluation.samples
            record.value = Statistics.median(pooled)
            record.noise = Statistics.noiseWidth(pooled) ?? best.record.noise
            record.smokeValue = best.record.smokeValue
            if let replaced = earlier.first(where: { $0.status == .keep })?.bestBefore, let pooledValue = record.value,
               !experiment.direction.isBetter(pooledValue, than: replaced) {
                record.reason = "the best no longer holds: re-measured at \(Number.format(Statistics.median(evaluation.samples) ?? pooledValue)), its value over \(pooled.count) samples is \(Number.format(pooledValue)), not better than the \(Number.format(replaced)) it replaced"
                events.notice("WARNING: \(record.reason!) (commit \(best.commit.short))")
            }
        }
        if try !repository.status().isEmpty { try repository.resetHard(to: base) }
        state.removeMarker()
        return RunOutcome(record: record, commit: best.commit, bestBefore: best.commit, logPath: state.logPath(run: run), tail: evaluation.tail)
    }
}

extension RunRecord {
    /// The values this run measured itself: its samples (a recheck always lists them), else its value.
    var ownSamples: [Double] {
        status == .recheck || !samples.isEmpty ? samples : value.map { [$0] } ?? []
    }
}
