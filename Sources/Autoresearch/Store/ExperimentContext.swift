import Foundation
import Git

/// One experiment in one work tree, opened once per command: the repository, the experiment's
/// references, its local state and lock, the ledger, its configuration as committed, and where
/// output goes. The engine's steps are methods of it, so none looks these up again.
final class ExperimentContext {
    let workspace: Workspace
    let name: String
    let refs: Refs
    let state: LocalState
    /// The repository's ledger, its notices going to `events`.
    private(set) var ledger: Ledger
    /// Where the steps report what they do; a loop adds to it (a worker's state file).
    var events: RunEvents
    /// The files that were untracked when the loop started: the user's, never part of a
    /// candidate and never removed (empty for `run`, where untracked files are the change).
    var userFiles: Set<String> = []
    /// The number of the worker in its own clone this process is (`LoopOptions.workerInClone`).
    var workerInClone: Int?
    /// The commit whose files the work tree is known to hold, the paths left alone aside: after a
    /// reset that saw no other untracked file, or a keep the watch saw nothing change around.
    /// The loop's next candidate takes it (`makeCandidate`): no status before its agent step.
    var workTreeHolds: OID?
    /// A loop's watch on the work tree (`WorkTreeWatch`), set as the loop starts: while it saw
    /// nothing change from the status after an agent step to the end of the evaluation, a keep
    /// needs no status before the next agent step and a discard's reset writes only the paths
    /// the candidate changed; while it saw nothing change before an agent step, the status after
    /// it looks only at the paths the step touched. Nil outside a loop, with git config
    /// `autoresearch.watch` false, or where the kernel has no watch.
    var workTreeWatch: WorkTreeWatch?
    /// Configurations already read, by the id of their `.autoresearch` blob.
    private var configurations: [OID: Experiment] = [:]

    init(_ workspace: Workspace, experiment name: String, events: RunEvents = RunEvents()) {
        self.workspace = workspace
        self.name = name
        self.events = events
        refs = Refs(name)
        state = LocalState(repository: workspace.repository, experiment: name)
        ledger = workspace.ledger
        ledger.notice = { [weak self] in self?.events.notice($0) }
    }

    var repository: Repository { workspace.repository }
    /// The top of the work tree.
    var root: String { workspace.root }

    /// The tip of the experiment branch: the best commit, or a merge carrying it.
    func tip() throws -> OID {
        guard let tip = try repository.referenceTarget(refs.branch) else { throw try missingBranchError() }
        return tip
    }

    /// For readers (`status`, `log`): the branch tip, or, when the branch is gone but the ledger
    /// kept a run of the experiment, the commit to restore the branch at.
    func tipOrRestorePoint() throws -> (commit: OID, branchGone: Bool) {
        if let tip = try repository.referenceTarget(refs.branch) { return (tip, false) }
        guard let restorePoint = try ledger.latestBestRun(experiment: name)?.commit else { throw try missingBranchError() }
        return (restorePoint, true)
    }

    /// The command that brings the experiment branch back at `commit`.
    func restoreCommand(at commit: OID) -> String {
        "git branch \(refs.branch.shortBranchName) \(commit.hex)"
    }

    /// Why the branch cannot be read: an unknown experiment, or one whose branch was deleted
    /// (its attempts chain is still there), with the command that restores it.
    private func missingBranchError() throws -> AutoresearchError {
        let branch = refs.branch.shortBranchName
        guard try repository.referenceTarget(refs.attempts) != nil else {
            return AutoresearchError("unknown experiment '\(name)'", hint: Workspace.knownHint(try workspace.experimentNames()))
        }
        guard let best = try ledger.latestBestRun(experiment: name) else {
            return AutoresearchError("branch \(branch) is gone, and no run of experiment '\(name)' was kept",
                                     hint: "create it again: git autoresearch init --name \(name) ...")
        }
        return AutoresearchError("branch \(branch) is gone; the runs of experiment '\(name)' are still in the ledger",
                                 hint: "restore it at its best commit (run \(best.record.run)): \(restoreCommand(at: best.commit))")
    }

    /// The tip of `branch` (the experiment's, or one of its workers').
    func tip(of branch: ReferenceName) throws -> OID {
        if branch == refs.branch { return try tip() }
        guard let tip = try repository.referenceTarget(branch) else {
            throw AutoresearchError("branch \(branch) of experiment '\(name)' is gone", hint: "start the loop again")
        }
        return tip
    }

    /// The experiment as configured in the `.autoresearch` committed in `commit` (default: the
    /// branch tip); each configuration is read once.
    func configuration(at commit: OID? = nil) throws -> Experiment {
        let commit = try commit ?? tip()
        guard let blob = try workspace.configurationEntry(at: commit) else {
            throw AutoresearchError("commit \(commit.short) has no \(ExperimentFile.fileName)",
                                    hint: "configure the experiment with git autoresearch init --name \(name) ...")
        }
        if let known = configurations[blob] { return known }
        let experiment = try workspace.experiment(named: name, configuration: blob, in: commit)
        configurations[blob] = experiment
        return experiment
    }

    /// Runs `body` holding the experiment's lock in this work tree, after checking the attempts
    /// chain, removing the stale lock files on our references and what dead workers left, and
    /// repairing an iteration a killed process left unfinished.
    func withLock<T>(_ body: () throws -> T) throws -> T {
        let lock = try state.lock(experiment: name)
        defer { lock.release() }
        defer { keepIndexMatch() }
        _ = try StaleLocks.withReferenceLock(in: repository) {
            StaleLocks(gitDirectory: repository.commonDirectory).clear(in: Refs.lockedNamespaces, olderThan: nil, notice: events.notice)
        }
        try checkAttemptsChain()
        if let repaired = try repairWhatKilledProcessesLeft() { events.notice(repaired) }
        return try body()
    }

    /// Under the lock: removes what dead workers left and puts a HEAD a killed `loop --jobs` left
    /// detached back (in the main work tree), then settles an iteration a killed process left
    /// unfinished; returns what the settling did. Dead workers' notices go to `events`.
    func repairWhatKilledProcessesLeft() throws -> String? {
        if !isWorkerWorktree {
            try cleanUpWorkers()
            reattachHeadLeftDetached()
        }
        return try repairUnfinishedIteration()
    }

    /// Throws, naming the reference and the repair, when the attempts chain's reference does not
    /// lead to a commit (a hand edit, a damaged repository): before anything is staged or written.
    /// The object's header is all that is read, as libgit2 checks a new commit's parents.
    func checkAttemptsChain() throws {
        let attempts = refs.attempts.fullName
        let problem: String
        do {
            guard let tip = try repository.referenceTarget(refs.attempts) else { return }
            let kind = try repository.kind(of: tip)
            guard kind != .commit else { return }
            problem = "it points to a \(kind == .blob ? "blob" : kind == .tree ? "tree" : "tag"), not a commit"
        } catch let error as GitError {
            problem = error.message
        }
        throw AutoresearchError("\(attempts) is damaged: \(problem)",
                                hint: "delete it and run again: git update-ref -d \(attempts) (the records stay in the notes; commits of earlier discarded runs are no longer kept from git gc)")
    }

    /// True when `tip` holds the files of the best commit but for a reconfiguration that keeps the
    /// measurement (`init --timeout 40s`): its runs still compare with the best, and it stands in
    /// for the best as the commit a discard returns to.
    func carriesBest(_ best: OID, at tip: OID, experiment: Experiment) throws -> Bool {
        guard let atBest = try? configuration(at: best),
              atBest.definesSameMeasurement(as: experiment) else { return false }
        let changed = try repository.changedPaths(from: repository.commit(best).tree, to: repository.commit(tip).tree)
        return changed.count == 1 && ExperimentFile.names.contains(changed[0])
    }

    /// True when two commits hold the same files.
    func sameTree(_ one: OID, _ other: OID) throws -> Bool {
        try one == other || repository.commit(one).tree == repository.commit(other).tree
    }
}

extension Workspace {
    /// The experiment `name` opened here, reporting to `events`.
    func context(_ name: String, events: RunEvents = RunEvents()) -> ExperimentContext {
        ExperimentContext(self, experiment: name, events: events)
    }
}
