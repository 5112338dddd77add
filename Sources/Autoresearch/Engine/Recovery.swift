import Foundation
import Git

extension ExperimentContext {
    /// What `settle` did.
    struct Settled {
        /// The commit the run's record is on.
        var commit: OID
        /// The record written (or found, when the run had finished before).
        var record: RunRecord
        /// Done, for the user: "recorded as interrupted", "branch reset to ...".
        var actions: [String]
    }

    /// Ends an iteration that will not finish normally (an agent that failed or was interrupted,
    /// a tool that was killed): nothing it produced is lost, the branch goes back to the best
    /// commit unless the run was kept, and the run gets one record.
    ///
    /// In the agent phase the candidate is what the agent left: a commit of the work-tree changes
    /// on top of the branch tip, else the tip if the agent committed, else the best commit; it is
    /// linked from the attempts chain. In the evaluation phase the candidate is already there;
    /// work-tree changes (written by the evaluator) are saved as one more attempt. The marker's
    /// user files and the tool's outputs are never saved nor removed.
    func settle(_ marker: LocalState.Marker, status: RunStatus, reason: String, exitCode: Int32? = nil,
                logTail: [String] = []) throws -> Settled {
        var marker = marker
        guard var candidate = OID(hex: marker.candidate) else {
            throw AutoresearchError("the unfinished-iteration marker \(state.markerPath) is damaged",
                                    hint: "check the branch with git log autoresearch/\(name), then delete the marker")
        }
        let best = marker.best.flatMap(OID.init(hex:))
        var actions: [String] = []
        let finished = try ledger.records(on: candidate, experiment: name).first { $0.run == marker.run }
        if finished?.status != .keep, let best, let tip = try repository.referenceTarget(ReferenceName(marker.branch)) {
            let onBranch = try repository.head() == .branch(ReferenceName(marker.branch), target: tip)
            let userFiles = Set(marker.userFiles ?? [])
            let dirty = try onBranch && !workTreeChanges(userFiles: userFiles).isEmpty
            if dirty {
                let saved = try repository.createCommit(tree: try stageAll(excluding: pathsLeftAlone(userFiles: userFiles)), parents: [tip],
                                                        message: "autoresearch: work tree of run \(marker.run)\n")
                try ledger.recordAttempt(saved, experiment: name, run: marker.run)
                if marker.phase == .agent { candidate = saved } else { actions.append("work-tree changes saved as \(saved.short) (git show \(saved.short))") }
            } else if marker.phase == .agent, finished == nil {
                candidate = tip
                try ledger.recordAttempt(candidate, experiment: name, run: marker.run)
            }
            if marker.candidate != candidate.hex {
                // A second repair (after a kill during this one) must find the same candidate.
                marker.candidate = candidate.hex
                try state.writeMarker(marker)
            }
            if dirty || tip != best {
                if onBranch {
                    try resetHard(to: best)
                    // A `run` takes the person's own edits and new files: say how to bring them back.
                    if marker.userFiles == nil { try sayHowToRestore(candidate, base: best) }
                } else {
                    try movingBranches { try repository.setReference(ReferenceName(marker.branch), to: best, expecting: .value(tip), message: "autoresearch: settle run \(marker.run)") }
                }
                actions.append("branch reset to the best commit \(best.short)")
            }
        }
        var record = finished
        if record == nil {
            let written = unevaluatedRecord(status, reason: reason, experiment: try? configuration(at: candidate), run: marker.run,
                                            bestBefore: try best.flatMap { try ledger.best(experiment: name, from: $0)?.record.value },
                                            marker: marker, exitCode: exitCode, description: marker.description)
            try ledger.append(written, logTail: logTail, on: candidate)
            actions.insert("recorded as \(status.rawValue)", at: 0)
            record = written
        }
        state.removeMarker()
        return Settled(commit: candidate, record: record!, actions: actions)
    }

    /// Repairs an iteration a killed process left half done (its marker is still there): stops
    /// an agent or evaluation that outlived the tool, then settles the run as `interrupted`.
    /// Returns what it did.
    func repairUnfinishedIteration() throws -> String? {
        clearIndexLockOfKilledWriter()
        guard let marker = state.readMarker() else { return nil }
        let step = marker.phase == .agent ? "agent step" : "evaluation"
        let leftAlone = stopStepThatOutlivedTheTool(marker, step: step)
        let settled = try settle(marker, status: .interrupted,
                                 reason: "the tool stopped before the run finished (killed or crashed)")
        let done = (settled.actions + [leftAlone].compactMap { $0 }).joined(separator: ", ")
        return "repaired an unfinished run \(marker.run) of '\(name)' (during its \(step), \(settled.commit.short)): \(done.isEmpty ? "nothing left to do" : done)"
    }

    /// Kills the marker's process group if it still runs the step (it runs in a session of its
    /// own, so it can outlive the tool). Only a group proven to be the step's is signalled: after
    /// the step ended its id may have gone to an unrelated process. Returns why a live group was
    /// left alone, else nil.
    private func stopStepThatOutlivedTheTool(_ marker: LocalState.Marker, step: String) -> String? {
        guard let group = marker.processGroup, GroupProcess.hasLiveMembers(group: group) else { return nil }
        guard let startTicks = marker.processStartTicks, let bootID = marker.bootID else {
            return "process group \(group) left alone: the marker does not say when the \(step) started, so it may be another program's (if it is the \(step), stop it with: kill -- -\(group))"
        }
        guard GroupProcess.isStillRunning(group: group, startTicks: startTicks, bootID: bootID) else {
            return "process group \(group) left alone: it is not the \(step) (its id was given to another program)"
        }
        kill(-group, SIGKILL)
        return nil
    }
}

extension LocalState.Marker {
    /// Notes the agent or evaluator that started as the leader of process group `leader`, with
    /// when it started, so that a repair signals the group only while it is still that step.
    mutating func recordProcessGroup(ledBy leader: pid_t) {
        processGroup = leader
        processStartTicks = ProcessStat(pid: leader)?.startTicks
        bootID = ProcessStat.currentBootID
    }
}
