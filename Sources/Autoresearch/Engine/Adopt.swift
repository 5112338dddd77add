import Foundation
import Git

/// A remote's best of an experiment that is better than ours and not in our branch's history
/// (what `status` points out and `adopt` takes).
public struct RemoteBest: Sendable {
    public let remote: String
    /// The remote's experiment branch as last fetched (`refs/remotes/REMOTE/autoresearch/NAME`).
    public let tip: OID
    /// The remote's best: its commit and record.
    public let best: RunEntry
    /// Why `adopt` would refuse it (measured with another evaluator or configuration), or nil.
    public let incomparable: String?
}

/// What `adopt` did.
public struct Adoption: Sendable {
    /// Whether the experiment branch moved to the remote's best.
    public let adopted: Bool
    /// What happened, for people: adopted (which run), refused (why), or nothing to adopt.
    public let notice: String
    /// The measurement of the adopted best here (none with `trustRemoteBest`).
    public let recheck: RunOutcome?
}

extension Workspace {
    /// The remotes whose fetched branch of experiment `name` holds a better best than ours, not
    /// in our branch's history, best first. Reads tracking refs and records only (no network).
    public func betterRemoteBests(experiment name: String) throws -> [RemoteBest] {
        let context = context(name)
        guard let tip = try repository.referenceTarget(context.refs.branch) else { return [] }
        let direction = try context.configuration(at: tip).direction
        let found: [(best: RemoteBest, value: Double)] = try ledger.withIndex { index in
            let reader = ledger.reading(through: index)
            let ours = try reader.best(experiment: name, from: tip)?.record.value
            var found: [(best: RemoteBest, value: Double)] = []
            for remote in try repository.remoteNames() {
                guard let theirs = try repository.referenceTarget(context.refs.remoteBranch(remote)),
                      try !repository.isAncestor(theirs, of: tip),
                      let best = try reader.best(experiment: name, from: theirs), let value = best.record.value,
                      ours.map({ direction.isBetter(value, than: $0) }) ?? true else { continue }
                let incomparable = try context.measurementDifference(ours: tip, theirs: theirs)
                found.append((RemoteBest(remote: remote, tip: theirs, best: best, incomparable: incomparable), value))
            }
            return found
        }
        return found.sorted { direction.isBetter($0.value, than: $1.value) }.map(\.best)
    }

    /// Pulls from `remote` and moves experiment `name`'s branch to the better of ours and the
    /// remote's best, as `loop --sync` does (`syncBest`: the same comparability checks, the
    /// branch only moves forward), under the experiment's lock. Then measures the adopted best
    /// here (a recheck) unless `trustRemoteBest`. Where HEAD is on the experiment branch its files
    /// follow; uncommitted changes there (or anywhere, when a recheck will switch to the branch)
    /// are refused before anything moves.
    public func adopt(experiment name: String, from remote: String, trustRemoteBest: Bool,
                      events: RunEvents = RunEvents()) throws -> Adoption {
        let context = context(name, events: events)
        return try context.withLock {
            let before = try context.tip()
            let onBranch = try repository.head() == .branch(context.refs.branch, target: before)
            let changes = try context.workTreeChanges()
            if !changes.isEmpty, onBranch || !trustRemoteBest {
                throw AutoresearchError("the work tree has uncommitted changes (\(Self.listPaths(changes.map(\.path)))); nothing was adopted",
                                        hint: "commit or stash them (git stash -u), then adopt again")
            }
            let outcome = try context.state.withSharedLock("sync") { try context.syncBest(from: remote) }
            guard outcome.adopted else {
                return Adoption(adopted: false, notice: outcome.notice ?? "nothing to adopt: \(remote)'s autoresearch/\(name) is not better than ours",
                                recheck: nil)
            }
            if onBranch { try context.resetHard(to: try context.tip()) }
            let notice = outcome.notice ?? "adopted \(remote)'s autoresearch/\(name)"
            guard !trustRemoteBest, let best = try context.ledger.best(experiment: name, from: try context.tip()) else {
                return Adoption(adopted: true, notice: notice, recheck: nil)
            }
            try context.enterBranch(context.refs.branch)
            let tip = try context.tip()
            let recheck = try context.recheck(best, branch: context.refs.branch, base: tip, experiment: try context.configuration(at: tip))
            events.notice(ExperimentContext.remeasured(best.record, recheck.record))
            return Adoption(adopted: true, notice: notice, recheck: recheck)
        }
    }
}
