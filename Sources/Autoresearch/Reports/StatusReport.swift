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
    /// A warning when a commit the branch kept lost its record (its note overwritten), so that
    /// `best` is an older one.
    public let lostRecord: String?
    /// Suspect records on the branch from the tip down to the best: ignored when finding the best.
    public let suspects: [SuspectRecord]

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
    /// unfinished runs, and removes what dead workers left, first where no process holds the lock.
    public func statuses(of names: [String]) throws -> [ExperimentStatus] {
        var repaired: [String: String] = [:]
        let contexts = names.map { context($0) }
        for context in contexts {
            // A run that starts between the check and the lock has it: no repair then, only the status.
            guard context.state.lockHolder() == nil, context.state.readMarker() != nil || context.hasWorkerLeftovers,
                  let lock = try? context.state.lock(experiment: context.name) else { continue }
            defer { lock.release() }
            var notices: [String] = []
            context.events.notice = { notices.append($0) }
            if let repair = try context.repairWhatKilledProcessesLeft() { notices.append(repair) }
            repaired[context.name] = notices.isEmpty ? nil : notices.joined(separator: "\n")
        }
        return try ledger.withIndex { index in try contexts.map { try status(of: $0, index: index, repaired: repaired[$0.name]) } }
    }

    /// The status of one experiment, read through `index`.
    private func status(of context: ExperimentContext, index: LedgerIndex, repaired: String?) throws -> ExperimentStatus {
        let name = context.name
        let (tip, branchGone) = try context.tipOrRestorePoint()
        let summary = index.summaries[name] ?? RunSummary()
        let counts = RunStatus.allCases.compactMap { status in summary.counts[status].map { (status, $0) } }
        let standing = try ledger.reading(through: index).bestAndBaseline(experiment: name, from: tip)
        let lostRecord = context.state.lockHolder() == nil ? try context.keptCommitWithoutRecord(tip: tip, best: standing?.best.commit) : nil
        return ExperimentStatus(experiment: try context.configuration(at: tip), branch: context.refs.branch.fullName, tip: tip,
                                restoreCommand: branchGone ? context.restoreCommand(at: tip) : nil,
                                best: standing?.best, baseline: standing?.baseline, counts: counts, runs: summary.total,
                                lastRun: try index.lastRun(experiment: name)?.record,
                                lockHolder: context.state.lockHolder(),
                                repaired: repaired, workers: context.liveWorkers(), lostRecord: lostRecord,
                                suspects: try context.suspectsAboveBest(tip: tip, best: standing?.best.commit))
    }
}

extension Workspace {
    /// Why each suspect record of `experiment` on `commits` is suspect, by run id; each
    /// commit's note is read once.
    public func suspectReasons(on commits: Set<OID>, experiment: String) throws -> [String: String] {
        var reasons: [String: String] = [:]
        for commit in commits {
            for suspect in try ledger.suspects(on: commit, experiment: experiment) { reasons[suspect.record.run] = suspect.reason }
        }
        return reasons
    }
}

extension ExperimentContext {
    /// The suspect records on the first-parent line from `tip` down to the best commit (at most
    /// 100 commits): the records that would otherwise have moved the best.
    func suspectsAboveBest(tip: OID, best: OID?) throws -> [SuspectRecord] {
        var suspects: [SuspectRecord] = []
        var commit: OID? = tip
        for _ in 0..<100 {
            guard let current = commit else { break }
            suspects += try ledger.suspects(on: current, experiment: name)
            if current == best { break }
            commit = try repository.commit(current).parents.first
        }
        return suspects
    }

    /// A warning naming the newest commit between `tip` and `best` that the attempts chain says
    /// was evaluated but that holds no record of the experiment: a candidate stays on the branch
    /// only when kept, so its record was lost (a note overwritten by hand). Nil when none; call
    /// it only while no process works on the experiment (a candidate under evaluation has no
    /// record yet).
    func keptCommitWithoutRecord(tip: OID, best: OID?) throws -> String? {
        var beyondBest: Set<OID> = []
        var commit: OID? = tip
        while let current = commit, current != best, beyondBest.count < 100 {
            beyondBest.insert(current)
            commit = try repository.commit(current).parents.first
        }
        var link = try repository.referenceTarget(refs.attempts)
        while let current = link, !beyondBest.isEmpty {
            let info = try repository.commit(current)
            guard let attempted = info.parents.last, attempted != best else { return nil }
            if beyondBest.contains(attempted), try ledger.records(on: attempted, experiment: name).isEmpty {
                let run = info.message.prefix { $0 != "\n" }.split(separator: " ").last.map(String.init) ?? "?"
                return "warning: commit \(attempted.short) on autoresearch/\(name) was evaluated (run \(run)) and kept, but has no record: its note in \(Refs.notes.fullName) was overwritten, so the best shown is an older one; 'git log -g \(Refs.notes.fullName)' shows the notes before"
            }
            link = info.parents.count > 1 ? info.parents.first : nil
        }
        return nil
    }
}
