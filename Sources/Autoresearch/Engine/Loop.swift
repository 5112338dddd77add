import Foundation
import Git

/// When `loop` stops, beyond Ctrl-C.
public struct LoopOptions: Sendable, Codable {
    /// The agent command; nil takes the experiment's configured agent.
    public var agent: String?
    /// The agent's time limit; nil takes the experiment's `agentTimeout`.
    public var agentTimeout: Double?
    /// Stop after this many runs.
    public var maxRuns: Int?
    /// Start no run after this many seconds (the running one finishes).
    public var maxTime: Double?
    /// Stop after this many runs in a row without a keep.
    public var patience: Int?
    /// Stop after this many failures in a row (crash, timeout, no-metric, agent-error); 0: never.
    public var maxCrashes: Int = LoopOptions.defaultMaxCrashes
    /// Pull from this remote before each iteration, push to it after each keep and every
    /// `pushEvery` runs (`--sync REMOTE`).
    public var sync: String?
    public var pushEvery = 5
    /// With `sync`: take a best adopted from the remote without measuring it again here
    /// (`--trust-remote-best`). By default the next run is a recheck of it.
    public var trustRemoteBest = false
    /// Set in a parallel worker's process: its number (`loop --jobs`).
    public var worker: Int?
    /// Set in a parallel worker's process: the pid of the loop that started it; the worker stops
    /// when that loop is gone.
    public var supervisor: Int32?
    /// Set in a worker a scheduler runs: the file its loop writes every second; the worker stops
    /// when it stops changing (`Heartbeat`).
    public var heartbeat: String?
    /// The run budget shared by parallel workers, instead of `maxRuns`.
    public var runTickets: RunTickets?
    /// Set in a worker in its own clone (`--worker-tree clone`), which is removed when it stops:
    /// it pushes to `sync` even when interrupted, so that its last records are not lost.
    public var pushWhenInterrupted = false
    /// Set in a worker in its own clone: its number, which its records carry (`log --worker`)
    /// as those of a worker in a linked work tree do.
    public var workerInClone: Int?

    public static let defaultMaxCrashes = 5

    public init() {}

    /// The options a parallel worker was given, from the file its loop wrote (`WorkerLaunch`).
    public init(contentsOf path: String) throws {
        guard let options = StateFile.read(LoopOptions.self, from: path) else {
            throw AutoresearchError("cannot read the worker options \(path)", hint: "workers are started by 'git autoresearch loop --jobs N'")
        }
        self = options
    }
}

/// Why a loop ended.
public enum StopReason: String, Sendable {
    case maxRuns = "max-runs"
    case maxTime = "max-time"
    case patience
    case maxCrashes = "max-crashes"
    case interrupted
    /// A parallel worker stopped with an error.
    case workerFailed = "worker-failed"

    /// What the summary says.
    public func explanation(_ options: LoopOptions) -> String {
        switch self {
        case .maxRuns: return "reached --max-runs \(options.maxRuns ?? 0)"
        case .maxTime: return "reached --max-time \(Durations.format(options.maxTime ?? 0))"
        case .patience: return "no improvement in \(options.patience ?? 0) runs (--patience)"
        case .maxCrashes: return "\(options.maxCrashes) failures in a row (--max-crashes): check the evaluator and the agent logs"
        case .interrupted: return "interrupted"
        case .workerFailed: return "a worker stopped with an error (its message is above)"
        }
    }
}

/// What a loop did, for its summary.
public struct LoopSummary: Sendable {
    public let experiment: String
    public let stop: StopReason
    /// Runs of this loop by status, in `RunStatus.allCases` order (statuses with no run left out).
    public let counts: [(status: RunStatus, count: Int)]
    public let runs: Int
    public let elapsed: Double
    /// The best value when the loop started (nil before the baseline).
    public let startValue: Double?
    public let best: RunEntry?
    /// The experiment's baseline the best is measured against.
    public let baseline: RunRecord?
    public let direction: Direction

    /// The relative change from baseline to best, positive when better.
    public var improvement: Double? {
        guard let base = baseline?.value, let value = best?.record.value else { return nil }
        return direction.improvement(from: base, to: value)
    }
}

extension Workspace {
    /// Runs iterations until a stopping rule or an interruption: the agent proposes a change, the
    /// change is evaluated, kept or reset, and recorded. The first iteration measures the baseline
    /// when there is none, or evaluates changes already waiting on the branch. Holds the
    /// experiment's lock throughout. `onRun` gets each finished run. In a parallel worker
    /// (`options.worker`), each iteration starts from the experiment branch's tip.
    public func loop(experiment name: String, options: LoopOptions, events: RunEvents = RunEvents(),
                     onRun: (RunOutcome) -> Void = { _ in }) throws -> LoopSummary {
        try context(name, events: events).loop(options: options, onRun: onRun)
    }
}

/// What a loop has done so far, and the stopping rules that follow from it.
struct LoopTally {
    var counts: [RunStatus: Int] = [:]
    var runs = 0
    var withoutKeep = 0
    var failuresInRow = 0
    var sinceRecheck = 0

    /// Counts a finished run.
    mutating func add(_ status: RunStatus) {
        runs += 1
        counts[status, default: 0] += 1
        if status != .recheck { withoutKeep = status == .keep ? 0 : withoutKeep + 1 }
        failuresInRow = status.isFailure ? failuresInRow + 1 : 0
    }

    /// Why the loop stops after a run that ended with `status`, if it does.
    func stop(after status: RunStatus, options: LoopOptions) -> StopReason? {
        if status == .interrupted { return .interrupted }
        if options.maxCrashes > 0, failuresInRow >= options.maxCrashes { return .maxCrashes }
        if let patience = options.patience, withoutKeep >= patience { return .patience }
        return nil
    }

    /// Why the loop stops before starting another run, if it does.
    func stop(before options: LoopOptions, started: Date, isInterrupted: Bool) throws -> StopReason? {
        if isInterrupted { return .interrupted }
        if let maxRuns = options.maxRuns, runs >= maxRuns { return .maxRuns }
        if let maxTime = options.maxTime, Date().timeIntervalSince(started) >= maxTime { return .maxTime }
        if let tickets = options.runTickets, try !tickets.take() { return .maxRuns }
        return nil
    }
}

extension ExperimentContext {
    /// The loop of `Workspace.loop`, on this experiment.
    func loop(options: LoopOptions, onRun: (RunOutcome) -> Void) throws -> LoopSummary {
        let experiment = try configuration()
        guard let command = options.agent ?? experiment.agent else { throw Self.noAgentError(name) }
        // A misspelt remote is an error now, not a warning before every run for days.
        if let remote = options.sync { _ = try workspace.remoteURL(remote) }
        return try withLock {
            let started = Date()
            let startValue = try ledger.best(experiment: name, from: try tip())?.record.value
            let report = options.worker.map { worker in
                WorkerStateFile(WorkerState.starting(worker: worker, worktree: root, at: state.workerStatePath(worker)),
                                path: state.workerStatePath(worker))
            }
            if let report {
                reportSteps(to: report, supervisor: options.supervisor, heartbeat: options.heartbeat.map(HeartbeatWatch.init),
                            agentTimeout: options.agentTimeout ?? experiment.agentTimeout)
            }
            try adoptUntrackedFilesAsUsers()
            try announceFilesLeftAlone()
            try watchWorkTree()
            workerInClone = options.workerInClone
            var tally = LoopTally()
            let stop = try iterateUntilStopped(command: command, experiment: experiment, options: options, started: started,
                                               tally: &tally, report: report, onRun: onRun)
            if let remote = options.sync, stop != .interrupted || options.pushWhenInterrupted { push(to: remote) }
            report?.update {
                $0.step = "stopped"
                $0.stop = stop.rawValue
            }
            return try summary(stop: stop, counts: tally.counts, runs: tally.runs, started: started, startValue: startValue,
                               direction: experiment.direction)
        }
    }

    /// Runs iterations, rechecks and syncs until a stopping rule holds; returns which.
    private func iterateUntilStopped(command: String, experiment: Experiment, options: LoopOptions, started: Date,
                                     tally: inout LoopTally, report: WorkerStateFile?,
                                     onRun: (RunOutcome) -> Void) throws -> StopReason {
        let workBranch = options.worker.map(refs.workerBranch) ?? refs.branch
        // Other workers and machines write runs too: then the history is read before each step.
        let sharedHistory = options.worker != nil || options.sync != nil
        var history = sharedHistory ? [] : try ledger.recentRuns(experiment: name, limit: AgentContext.historyLimit)
        var bestSeen = try tip()
        var adoptedUnmeasured = false
        while true {
            if let stop = try tally.stop(before: options, started: started, isInterrupted: events.isInterrupted()) { return stop }
            if let remote = options.sync {
                report?.step("sync")
                if sync(from: remote), !options.trustRemoteBest { adoptedUnmeasured = true }
            }
            if sharedHistory { history = try ledger.recentRuns(experiment: name, limit: AgentContext.historyLimit) }
            if options.worker != nil { try followBest(branch: workBranch) }
            // Another worker or machine improved the best: patience starts again.
            if case let tip = try tip(), tip != bestSeen { tally.withoutKeep = 0; bestSeen = tip }
            let outcome: RunOutcome
            let recheckDue = experiment.recheckEvery > 0 && tally.sinceRecheck >= experiment.recheckEvery
            // The best the work tree holds: another worker may have moved the experiment branch since `followBest`.
            let workTip = try tip(of: workBranch)
            if recheckDue || adoptedUnmeasured, let best = try ledger.best(experiment: name, from: workTip) {
                outcome = try recheck(best, branch: workBranch, base: workTip, experiment: experiment)
                if adoptedUnmeasured { events.notice(Self.remeasured(best.record, outcome.record)) }
                tally.sinceRecheck = 0
                adoptedUnmeasured = false
            } else {
                let agent = AgentInvocation(command: command, timeout: options.agentTimeout ?? experiment.agentTimeout,
                                            iteration: tally.runs + 1, history: history)
                guard case .ran(let ran) = try iterate(message: nil, agent: agent, worker: options.worker) else {
                    throw AutoresearchError("internal error: an agent iteration ended without a run")
                }
                outcome = ran
                tally.sinceRecheck += 1
            }
            history = Array(([RunEntry(commit: outcome.commit, record: outcome.record)] + history).prefix(AgentContext.historyLimit))
            let status = outcome.record.status
            tally.add(status)
            report?.update {
                $0.runs = tally.runs
                $0.counts[status.rawValue, default: 0] += 1
                $0.step = "idle"
            }
            onRun(outcome)
            bestSeen = try tip()
            if let remote = options.sync, status == .keep || tally.runs % options.pushEvery == 0 {
                report?.step("sync")
                push(to: remote)
            }
            if let stop = tally.stop(after: status, options: options) { return stop }
        }
    }

    /// The summary of a loop that started at `started` from the best value `startValue`.
    func summary(stop: StopReason, counts: [RunStatus: Int], runs: Int, started: Date, startValue: Double?,
                 direction: Direction) throws -> LoopSummary {
        let standing = try ledger.bestAndBaseline(experiment: name, from: try tip())
        return LoopSummary(experiment: name, stop: stop,
                           counts: RunStatus.allCases.compactMap { status in counts[status].map { (status, $0) } },
                           runs: runs, elapsed: Date().timeIntervalSince(started), startValue: startValue,
                           best: standing?.best, baseline: standing?.baseline, direction: direction)
    }

    static func noAgentError(_ name: String) -> AutoresearchError {
        AutoresearchError("experiment '\(name)' has no agent, so 'loop' has nothing to run between evaluations",
                          hint: "give one with --agent 'CMD' or 'git autoresearch init --name \(name) --agent CMD' (recipes in docs/agents.md); to drive the experiment yourself, make a change and use 'git autoresearch run'")
    }

    /// Makes a worker's state file follow its steps.
    private func reportSteps(to report: WorkerStateFile, supervisor: Int32?, heartbeat: HeartbeatWatch?, agentTimeout: Double) {
        let (agentStarted, started) = (events.agentStarted, events.started)
        events.agentStarted = { run, experiment in
            report.step("agent", run: run, budget: agentTimeout)
            agentStarted(run, experiment)
        }
        events.started = { run, experiment, candidate, baseline in
            report.step("evaluation", run: run, budget: experiment.budget)
            started(run, experiment, candidate, baseline)
        }
        let isInterrupted = events.isInterrupted
        // A worker whose loop died (even by SIGKILL) stops as if interrupted.
        events.isInterrupted = { isInterrupted() || supervisor.map { getppid() != $0 } ?? false || heartbeat?.isStale ?? false }
    }

    /// A worker starts each iteration from the best: its branch and work tree move to the
    /// experiment branch's tip. The work tree must be clean (the evaluation wrote no files).
    private func followBest(branch: ReferenceName) throws {
        let best = try tip()
        guard try repository.referenceTarget(branch) != best else { return }
        // Files the evaluation left are refused by the iteration when the branch stays; before
        // a move they are refused here, as the reset would overwrite them.
        let changes = try workTreeChanges()
        guard changes.isEmpty else { throw Self.evaluationLeftFiles(changes) }
        try resetHard(to: best)
    }

    /// What measuring an adopted best here found: its claimed value, and the median of the samples taken here.
    static func remeasured(_ adopted: RunRecord, _ recheck: RunRecord) -> String {
        let here = Statistics.median(recheck.samples).map(Number.format) ?? "no value (\(recheck.status.rawValue))"
        return "measured the adopted best again here: run \(adopted.run) claimed \(adopted.metric)=\(Number.format(adopted.value ?? 0)) on \(adopted.host), measured \(here) here (run \(recheck.run))"
    }

    /// Pulls from `remote` and adopts a better best; a failure is reported, and the loop goes on.
    /// Returns whether a best was adopted.
    func sync(from remote: String) -> Bool {
        do {
            // Where HEAD is on the experiment branch with a clean work tree (a loop in the main
            // work tree), the files follow an adopted best. Checked before the branch moves: after,
            // the old files look like changes. Any other branch of HEAD is never touched.
            let before = try tip()
            let follows = try repository.head() == .branch(refs.branch, target: before) && workTreeChanges().isEmpty
            let outcome = try state.withSharedLock("sync") { try syncBest(from: remote) }
            if let notice = outcome.notice { events.notice(notice) }
            if follows, try tip() != before { try resetHard(to: try tip()) }
            return outcome.adopted
        } catch {
            events.notice("warning: could not pull from \(remote) (\(error)); the loop goes on and tries again before the next run")
            return false
        }
    }

    /// Pushes to `remote`; a failure is reported, and the loop goes on.
    private func push(to remote: String) {
        do {
            let report = try state.withSharedLock("sync") { try workspace.push(remote: remote, experiment: name, notice: events.notice) }
            for skipped in report.skipped { events.notice("not pushed: \(skipped.branch): \(skipped.reason)") }
        } catch {
            events.notice("warning: could not push to \(remote) (\(error)); the loop goes on and pushes again later")
        }
    }
}
