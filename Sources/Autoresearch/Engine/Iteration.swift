import CProcessSupport
import Foundation
import Git

/// What one run produced.
public struct RunOutcome: Sendable {
    public let record: RunRecord
    /// The evaluated commit.
    public let commit: OID
    /// The best commit before the run (nil for the baseline).
    public let bestBefore: OID?
    public let logPath: String
    /// The last lines of the evaluation's output.
    public let tail: [String]
}

/// Which step of an iteration is running.
public enum Step: String, Sendable {
    case agent, evaluation
}

/// Progress of the agent step or the evaluation, about once a second.
public struct StepProgress: Sendable {
    public let step: Step
    public let run: String
    public let elapsed: Double
    /// The time the step is meant to take (the budget; for the agent, its limit).
    public let budget: Double
    /// The hard limit.
    public let limit: Double
    public let lastLine: String?
    /// Which part of a staged evaluation runs (`smoke`, `repeat 2/5`, `target gsm8k (1/3)`); nil for a plain one.
    public var detail: String? = nil
}

/// Things a run reports while it goes, for the front end to show.
public struct RunEvents {
    /// Something the user should know (a branch switch, a repaired interruption).
    public var notice: (String) -> Void = { _ in }
    /// The agent step of run `run` starts.
    public var agentStarted: (_ run: String, _ experiment: Experiment) -> Void = { _, _ in }
    /// The candidate is committed and its evaluation starts.
    public var started: (_ run: String, _ experiment: Experiment, _ candidate: OID, _ isBaseline: Bool) -> Void = { _, _, _, _ in }
    /// About once a second while the agent or the evaluation runs.
    public var progress: (StepProgress) -> Void = { _ in }
    /// Polled while a step runs; true stops it (status `interrupted`).
    public var isInterrupted: () -> Bool = { cps_interrupt_count() > 0 }
    /// A line a parallel worker printed (`isError`: on its stderr), for the front end to show.
    public var workerOutput: (_ line: Substring, _ isError: Bool) -> Void = { line, isError in
        FileHandle(fileDescriptor: isError ? STDERR_FILENO : STDOUT_FILENO).write(Data((line + "\n").utf8))
    }
    /// About once a second while parallel workers run: what each live worker is doing.
    public var workersProgress: ([WorkerState]) -> Void = { _ in }

    public init() {}
}

/// The result of asking for one run.
public enum RunResult: Sendable {
    case ran(RunOutcome)
    /// The work tree and branch are at the best commit: there is no candidate.
    case nothingToEvaluate(best: OID)
}

extension Workspace {
    /// Runs one iteration of an experiment: snapshot, evaluate, decide, record, reset on discard.
    ///
    /// The candidate is whatever the work tree holds on top of the experiment branch (committed
    /// with libgit2 as one commit), or commits already on the branch beyond the best. The
    /// evaluation runs under the experiment's hard limit; the record goes in the ledger; a
    /// candidate that is not better is reset away (it stays reachable from the attempts ref).
    public func runOnce(experiment name: String, message: String? = nil, events: RunEvents = RunEvents()) throws -> RunResult {
        try withLock(experiment: name, events: events) { state in
            try iterate(experiment: name, state: state, message: message, agent: nil, events: events)
        }
    }

    /// Runs `body` holding the experiment's lock, after repairing an iteration a killed process left unfinished.
    func withLock<T>(experiment name: String, events: RunEvents, _ body: (LocalState) throws -> T) throws -> T {
        let state = LocalState(repository: repository, experiment: name)
        try state.acquireLock(experiment: name)
        defer { state.releaseLock() }
        if !isWorkerWorktree { try cleanUpWorkers(experiment: name, events: events) }
        if let repaired = try repairUnfinishedIteration(experiment: name, state: state) { events.notice(repaired) }
        return try body(state)
    }

    /// One iteration under the lock. With an agent, and when nothing is waiting to be evaluated,
    /// the agent step makes the candidate first; without one, the work tree or the commits beyond
    /// the best are the candidate. A parallel worker (`worker`) works on its own branch, which
    /// starts at the experiment branch; a keep then advances the experiment branch (`advanceBest`).
    func iterate(experiment name: String, state: LocalState, message: String?, agent: AgentInvocation?,
                 worker: Int? = nil, events: RunEvents) throws -> RunResult {
        let branch = worker.map { Workers.branch(name, $0) } ?? Experiment.branch(name)
        try enterBranch(branch, experiment: name, events: events)
        let start = try branchTip(branch, experiment: name)
        var tip = start
        let ledger = Ledger(repository: repository)
        var best = try ledger.best(experiment: name, from: tip)
        let experiment = try self.experiment(named: name, at: tip)
        // A reconfiguration that keeps the measurement goes on from the best: the tip stands in for it.
        if let previous = best, try configurationEntry(at: previous.commit) != configurationEntry(at: tip),
           try carriesBest(previous.commit, at: tip, experiment: experiment) {
            best = RunEntry(commit: tip, record: previous.record)
        }
        if let previous = best, try configurationEntry(at: previous.commit) != configurationEntry(at: tip) {
            let evaluatorChanged = previous.record.evaluator != nil && previous.record.evaluator != experiment.evaluatorID
            events.notice("\(ExperimentFile.fileName) changed since the best commit \(previous.commit.short)\(evaluatorChanged ? ", with a new evaluator" : ""): this run measures a new baseline")
            best = nil
        }
        // Where a discarded candidate goes back to: the tip when it holds the best's files (the
        // best itself, or a merge that carries it), else the best commit.
        let base = try best.map { try sameTree($0.commit, tip) ? tip : $0.commit }

        let run = RunID.make()
        var description = message ?? ""
        // What the candidate is compared with: the guarded paths of the best commit.
        let guarded = try best.map { try GuardedPaths(experiment, tree: try repository.commit($0.commit).tree, repository: repository) }
        var changes = try repository.status()
        if let agent, let best, let guarded, let base {
            if try !sameTree(tip, best.commit) || !changes.isEmpty {
                // Mid-loop the tree is clean after every run unless the evaluation wrote files,
                // which would be taken for the agent's next change.
                guard agent.iteration == 1 || changes.isEmpty else { throw Self.evaluationLeftFiles(changes) }
                events.notice("evaluating the changes already on \(BranchName.short(branch)) (not made by the agent) first")
            } else {
                switch try agentStep(agent, experiment: experiment, run: run, best: best, branch: branch, base: base,
                                     guarded: guarded, state: state, events: events) {
                case .settled(let outcome): return .ran(outcome)
                case .changed(let text): description = text
                }
                tip = try branchTip(branch, experiment: name)
                changes = try repository.status()
            }
        }

        var candidate = tip
        if !changes.isEmpty {
            let tree = try repository.stageAll()
            if tree != (try repository.commit(tip).tree) {
                if description.isEmpty, agent != nil { description = "edit \(Self.listPaths(changes.map(\.path)))" }
                let subject = description.isEmpty ? "autoresearch: \(name) run \(run)" : description
                candidate = try repository.createCommit(tree: tree, parents: [tip], message: subject + "\n")
            }
        } else if description.isEmpty, tip != base {
            description = String(try repository.commit(candidate).message.prefix { $0 != "\n" })
        }
        if let best, try sameTree(candidate, best.commit) {
            guard agent != nil else { return .nothingToEvaluate(best: candidate) }
            return .ran(try recordNoop(experiment: experiment, run: run, best: best, description: description, state: state))
        }

        // Reachable first, then the marker, then the branch: a kill at any point leaves nothing lost.
        try ledger.recordAttempt(candidate, experiment: name, run: run)
        if let best, let guarded, let base {
            let changed = try guarded.violations(candidate: try repository.commit(candidate).tree, repository: repository)
            if !changed.isEmpty {
                return .ran(try reject(candidate, experiment: experiment, run: run, best: best, base: base, guarded: changed,
                                       description: description, state: state))
            }
        }
        let marker = LocalState.Marker(phase: .evaluation, run: run, candidate: candidate.hex, best: base?.hex,
                                       branch: branch, start: Date(), description: description)
        try state.writeMarker(marker)
        if candidate != tip {
            try repository.setReference(branch, to: candidate, expecting: .value(tip), message: "autoresearch: candidate \(run)")
        }
        let (record, evaluation) = try evaluateAndRecord(candidate, experiment: experiment, best: best?.record, marker: marker,
                                                         state: state, events: events, sharedBest: worker != nil) { record, evaluation in
            if record.status == .keep, let value = record.value, let best {
                let verdict = experiment.judge(value, against: best.record)
                if !verdict.keep {
                    record.status = .discard
                    record.reason = verdict.reason
                }
            }
            if record.status == .keep {
                // The noise the next candidates are judged with: the baseline's own, then inherited.
                if let best { record.noise = best.record.noise } else { record.noise = Statistics.noiseWidth(evaluation.samples) }
                if worker != nil { try advanceBest(to: candidate, from: start, record: &record, experiment: experiment) }
            }
            if let worker { record.worker = worker }
        }
        if record.status != .keep, let base { try repository.resetHard(to: base) }
        state.removeMarker()
        if agent == nil, case let leftovers = try repository.status().filter(\.isUntracked).map(\.path), !leftovers.isEmpty {
            events.notice("warning: untracked files after the evaluation (\(Self.listPaths(leftovers))) will be part of the next candidate; if the evaluator writes them, add them to .gitignore")
        }
        return .ran(RunOutcome(record: record, commit: candidate, bestBefore: best?.commit,
                               logPath: state.logPath(run: run), tail: evaluation.tail))
    }

    /// The error for a work tree the evaluation left files in, mid-loop.
    static func evaluationLeftFiles(_ changes: [StatusEntry]) -> AutoresearchError {
        AutoresearchError("the evaluation left files in the work tree (\(listPaths(changes.map(\.path)))); the loop stopped so they are not taken for the agent's next change",
                          hint: "add the evaluator's outputs to .gitignore, then start the loop again")
    }

    /// True when two commits hold the same files.
    func sameTree(_ one: OID, _ other: OID) throws -> Bool {
        try one == other || repository.commit(one).tree == repository.commit(other).tree
    }

    /// Evaluates `commit` for the run `marker` describes (written, and updated with the process
    /// group), builds its record (storing its artifacts), lets `decide` settle the status, and
    /// appends the record and the log tail to the ledger. The caller resets and removes the marker.
    /// With `sharedBest` (parallel workers), deciding and recording happen under the best's lock,
    /// so no other worker sees the experiment branch at a new best whose record is not written yet.
    func evaluateAndRecord(_ commit: OID, experiment: Experiment, best: RunRecord?, marker: LocalState.Marker,
                           includeSmoke: Bool = true, state: LocalState, events: RunEvents, sharedBest: Bool = false,
                           decide: (inout RunRecord, Evaluation) throws -> Void) throws -> (RunRecord, Evaluation) {
        var marker = marker
        let run = marker.run
        events.started(run, experiment, commit, best == nil)
        let evaluation = try evaluate(experiment, run: run, candidate: commit, best: best, logPath: state.logPath(run: run),
                                      events: events, includeSmoke: includeSmoke) { group in
            marker.processGroup = group
            try state.writeMarker(marker)
        }
        var record = RunRecord(experiment: experiment.name, run: run, status: evaluation.status, metric: experiment.metric,
                               value: evaluation.value, bestBefore: best?.value, direction: experiment.direction,
                               duration: evaluation.duration, start: marker.start, exitCode: evaluation.exitCode,
                               reason: evaluation.reason, description: marker.description, host: Self.hostName)
        record.evaluator = experiment.evaluatorID
        evaluation.fill(&record)
        try storeArtifacts(of: evaluation, in: &record, experiment: experiment, commit: commit, events: events)
        let ledger = Ledger(repository: repository)
        func settle() throws {
            try decide(&record, evaluation)
            try ledger.append(record, on: commit)
        }
        if sharedBest { try withBestLock(experiment: experiment.name, settle) } else { try settle() }
        try ledger.appendLogTail(evaluation.tail, run: run, on: commit)
        return (record, evaluation)
    }

    /// Stores the artifacts of an evaluation that was not interrupted, and says so in `record`.
    private func storeArtifacts(of evaluation: Evaluation, in record: inout RunRecord, experiment: Experiment, commit: OID,
                                events: RunEvents) throws {
        if evaluation.status != .interrupted,
           let stored = try storeArtifacts(experiment, run: record.run, commit: commit, since: record.start) {
            record.artifacts = stored.tree.hex
            if !stored.skipped.isEmpty {
                record.artifactsSkipped = Self.listPaths(stored.skipped)
                events.notice("warning: artifacts over the \(ByteCount.format(experiment.artifactLimit)) limit were not stored: \(Self.listPaths(stored.skipped)); raise it with 'git config -f .autoresearch experiment.\(experiment.name).artifactLimit BYTES' or store less")
            }
        }
    }

    /// Records a candidate that changed guarded paths as `rejected` (it stays on the attempts
    /// chain) and puts the branch and work tree back at `base` (the best's files). Nothing is evaluated.
    func reject(_ candidate: OID, experiment: Experiment, run: String, best: RunEntry, base: OID,
                guarded: [String], description: String, state: LocalState) throws -> RunOutcome {
        let record = unevaluatedRecord(.rejected, reason: "changed guarded paths: \(Self.listPaths(guarded))",
                                       experiment: experiment, name: experiment.name, run: run, bestBefore: best.record.value,
                                       start: state.readMarker()?.start ?? Date(), description: description)
        try Ledger(repository: repository).append(record, on: candidate)
        try repository.resetHard(to: base)
        state.removeMarker()
        return RunOutcome(record: record, commit: candidate, bestBefore: best.commit, logPath: state.logPath(run: run), tail: [])
    }

    /// The record of a run that was not evaluated (no-op, rejected, agent error, interrupted),
    /// timed from `start` to now. `experiment` is nil when its configuration cannot be read.
    func unevaluatedRecord(_ status: RunStatus, reason: String, experiment: Experiment?, name: String, run: String,
                           bestBefore: Double?, start: Date, exitCode: Int32? = nil, description: String) -> RunRecord {
        var record = RunRecord(experiment: name, run: run, status: status, metric: experiment?.metric ?? "", value: nil,
                               bestBefore: bestBefore, direction: experiment?.direction ?? .lower,
                               duration: Date().timeIntervalSince(start), start: start, exitCode: exitCode,
                               reason: reason, description: description, host: Self.hostName)
        record.evaluator = experiment?.evaluatorID
        return record
    }

    /// Makes sure HEAD is on the experiment branch: switches to it from a clean work tree, and
    /// refuses when the user has uncommitted work on another branch (it is never touched).
    func enterBranch(_ branch: String, experiment: String, events: RunEvents) throws {
        let head = try repository.head()
        if case .branch(branch, _) = head { return }
        let changes = try repository.status()
        if !changes.isEmpty {
            let here: String
            if case .branch(let name, _) = head { here = "branch \(BranchName.short(name))" } else { here = "a detached HEAD" }
            throw AutoresearchError("you are on \(here) with uncommitted changes (\(Self.listPaths(changes.map(\.path)))); nothing was touched",
                                    hint: "commit or stash them (git stash -u), then run again; or, to hand these changes to the experiment, git switch autoresearch/\(experiment) first")
        }
        try repository.switchToBranch(branch)
        events.notice("switched to branch autoresearch/\(experiment)")
    }

    /// This machine's name, for records (looked up once: Foundation may ask the resolver).
    static let hostName: String = {
        var buffer = [UInt8](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }()
}

/// Run ids: the UTC start time and 24 random bits, e.g. `20261123-090102-3fa9c1`. Sortable by
/// time, and unique across clones without coordination.
public enum RunID {
    public static func make(at date: Date = Date()) -> String {
        DateFormatter.utc("yyyyMMdd-HHmmss").string(from: date) + "-" + String(format: "%06x", UInt32.random(in: 0..<(1 << 24)))
    }
}

extension DateFormatter {
    /// A formatter of UTC times in `format`, independent of the user's locale.
    static func utc(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }
}
