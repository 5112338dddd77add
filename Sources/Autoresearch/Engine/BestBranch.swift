import Foundation
import Git

/// How the experiment branch moves when several workers or machines find bests at once. It only
/// ever moves forward: when two lines of bests meet, a merge commit with the better side's files
/// joins them, so every best stays in its history, and pushing it never needs force.
extension ExperimentContext {
    /// Runs `body` holding the lock that every move of the experiment branch to a new best takes
    /// in this repository (workers' keeps with their records, adopting or joining another
    /// machine's best), so that a best is never judged from a branch whose record is in flight.
    func withBestLock<T>(_ body: () throws -> T) throws -> T {
        try state.withSharedLock("best", body)
    }

    /// Makes a parallel worker's kept candidate the experiment's best, under the best's lock: the
    /// experiment branch moves from `start` (the tip the worker started from) to `candidate`.
    /// When another worker or a pull moved it first, the candidate is judged again against the
    /// new best: not better, the run becomes a discard and `decision` says why; better, the branch
    /// moves to a merge commit holding the candidate's files (parents: the candidate, the moved tip).
    func advanceBest(to candidate: OID, from start: OID, decision: inout Decision, experiment: Experiment, run: String) throws {
        let current = try tip()
        var target = candidate
        if current == candidate {
            // Another worker made and kept the very same commit meanwhile.
            if current != start {
                decision.status = .discard
                decision.reason = "another worker kept the same commit while this run was evaluated"
            }
            return
        } else if current != start {
            guard try workspace.configurationEntry(at: current) == workspace.configurationEntry(at: candidate) else {
                decision.status = .discard
                decision.reason = "\(ExperimentFile.fileName) changed on autoresearch/\(name) while this run was evaluated"
                return
            }
            if let moved = try ledger.best(experiment: name, from: current), let value = decision.value {
                let verdict = experiment.judge(value, against: moved.record)
                decision.bestBefore = moved.record.value
                decision.noise = moved.record.noise
                guard verdict.keep else {
                    decision.status = .discard
                    decision.reason = "the best moved to run \(moved.record.run) (\(experiment.metric)=\(Number.format(moved.record.value ?? 0))) while this run was evaluated" + (verdict.reason.map { "; \($0)" } ?? "; not better")
                    return
                }
            }
            target = try repository.createCommit(
                tree: try repository.commit(candidate).tree, parents: [candidate, current],
                message: "autoresearch: \(name) run \(run) is the best (\(experiment.metric)=\(Number.format(decision.value ?? 0))), over \(current.short)\n")
        }
        // Every mover of the branch in this repository holds the lock: only a person's own git
        // command could make this fail, and then the run is settled as interrupted.
        try movingBranches { try repository.setReference(refs.branch, to: target, expecting: .value(current),
                                    message: "autoresearch: keep \(run)") }
    }

    /// How two lines of an experiment's history join (`bestOfLines`).
    enum LinesJoin {
        /// Ours stays as it is: theirs is already in it, or (keeping our files) theirs is better.
        case ours
        /// The commit both lines fast-forward to.
        case joined(OID)
        /// Theirs was not measured like ours (evaluator or configuration), or holds an entry git
        /// refuses: the reason.
        case refused(String)
    }

    /// One commit holding the better of two lines of an experiment's history (`ours`, and
    /// `theirs` from another machine), which both fast-forward to: `theirs` itself when it
    /// contains `ours`, else a merge commit with the files of the side whose best is better (ours
    /// on a tie; parents: that side, then the other). Refused when `theirs` was measured
    /// differently (`measurementDifference`). With `keepingOurFiles`, `.ours` whenever the result
    /// would not hold our files.
    func bestOfLines(ours: OID, theirs: OID, keepingOurFiles: Bool) throws -> LinesJoin {
        if try ours == theirs || repository.isAncestor(theirs, of: ours) { return .ours }
        if let difference = try measurementDifference(ours: ours, theirs: theirs) { return .refused(difference) }
        if try repository.isAncestor(ours, of: theirs) { return keepingOurFiles ? .ours : .joined(theirs) }
        let ourBest = try ledger.best(experiment: name, from: ours), theirBest = try ledger.best(experiment: name, from: theirs)
        let direction = try configuration(at: ours).direction
        let theirsWin: Bool
        switch (ourBest?.record.value, theirBest?.record.value) {
        case (let mine?, let other?): theirsWin = direction.isBetter(other, than: mine)
        case (nil, _?): theirsWin = true
        default: theirsWin = false
        }
        if theirsWin && keepingOurFiles { return .ours }
        let (winner, other, best) = theirsWin ? (theirs, ours, theirBest) : (ours, theirs, ourBest)
        let summary = best.map { "run \($0.record.run) (\($0.record.metric)=\(Number.format($0.record.value ?? 0)))" } ?? winner.short
        return .joined(try repository.createCommit(tree: try repository.commit(winner).tree, parents: [winner, other],
                                                   message: "autoresearch: \(name) best of \(ours.short) and \(theirs.short) is \(summary)\n"))
    }

    /// Why the runs on `theirs` were not measured like ours, or nil: another `.autoresearch`, a
    /// guarded path (the evaluator's files, `guard` patterns) that differs, or a tree with an
    /// entry git's fsck refuses (`.`, `..`, `.git`, a `/`).
    func measurementDifference(ours: OID, theirs: OID) throws -> String? {
        guard try workspace.configurationEntry(at: ours) == workspace.configurationEntry(at: theirs) else {
            return "its \(ExperimentFile.fileName) differs from ours"
        }
        let ourTree = try repository.commit(ours).tree, theirTree = try repository.commit(theirs).tree
        let guarded = try GuardedPaths(configuration(at: ours), tree: ourTree, repository: repository)
        let changed = try guarded.violations(candidate: theirTree, repository: repository)
        if !changed.isEmpty { return "its evaluator differs from ours (\(Workspace.listPaths(changed)))" }
        return try workspace.unsafeEntry(inTree: theirTree).map { "its tree holds an entry git refuses, \($0)" }
    }

    /// For `loop --sync`: pulls from `remote` (records, attempts, its experiment branches), then
    /// moves the experiment branch to the better of ours and the remote's (`bestOfLines`), under
    /// the best's lock. Returns whether the remote's best was adopted, and a notice when it was
    /// adopted or refused.
    func syncBest(from remote: String) throws -> (adopted: Bool, notice: String?) {
        _ = try workspace.pull(remote: remote, notice: events.notice)
        guard let theirs = try repository.referenceTarget(refs.remoteBranch(remote)) else { return (false, nil) }
        let join: LinesJoin = try withBestLock {
            let ours = try tip()
            let join = try bestOfLines(ours: ours, theirs: theirs, keepingOurFiles: false)
            guard case .joined(let target) = join else { return join }
            try movingBranches { try repository.setReference(refs.branch, to: target, expecting: .value(ours),
                                        message: "autoresearch: best from \(remote)") }
            return try sameTree(target, ours) ? .ours : join
        }
        if case .refused(let reason) = join {
            return (false, "did not adopt \(remote)'s autoresearch/\(name) (\(theirs.short)): \(reason); runs go on against our best, and \(refs.remoteBranch(remote).fullName) keeps it for you to inspect")
        }
        guard case .joined(let target) = join else { return (false, nil) }
        guard let best = try ledger.best(experiment: name, from: target) else { return (true, nil) }
        return (true, "adopted the best from \(remote): run \(best.record.run) (\(best.record.metric)=\(Number.format(best.record.value ?? 0)), \(best.record.host))")
    }
}
