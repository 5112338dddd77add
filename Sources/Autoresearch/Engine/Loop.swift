import Foundation
import Git

/// When `loop` stops, beyond Ctrl-C.
public struct LoopOptions: Sendable {
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
    /// Set in a parallel worker's process: its number (`loop --jobs`).
    public var worker: Int?
    /// Set in a parallel worker's process: the pid of the loop that started it; the worker stops
    /// when that loop is gone.
    public var supervisor: Int32?
    /// The run budget shared by parallel workers, instead of `maxRuns`.
    public var runTickets: RunTickets?

    public static let defaultMaxCrashes = 5

    public init() {}
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

extension LoopSummary {
    /// Sums up a loop of experiment `name` that started at `started`, when the best value was
    /// `startValue`, and did `runs` runs (`counts` of them by status); the best and the baseline
    /// are read from the history of `tip`, the experiment branch's tip now.
    init(experiment name: String, direction: Direction, stop: StopReason, runs: Int, counts: [RunStatus: Int],
         started: Date, startValue: Double?, ledger: Ledger, tip: OID) throws {
        let standing = try ledger.bestAndBaseline(experiment: name, from: tip)
        self.init(experiment: name, stop: stop,
                  counts: RunStatus.allCases.compactMap { status in counts[status].map { (status, $0) } },
                  runs: runs, elapsed: Date().timeIntervalSince(started), startValue: startValue,
                  best: standing?.best, baseline: standing?.baseline, direction: direction)
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
        let experiment = try self.experiment(named: name, at: try branchTip(of: name))
        guard let command = options.agent ?? experiment.agent else { throw Self.noAgentError(name) }
        // A misspelt remote is an error now, not a warning before every run for days.
        if let remote = options.sync { _ = try remoteURL(remote) }
        return try withLock(experiment: name, events: events) { state in
            let ledger = Ledger(repository: repository)
            let started = Date()
            let startValue = try ledger.best(experiment: name, from: try branchTip(of: name))?.record.value
            let workBranch = options.worker.map { Workers.branch(name, $0) } ?? Experiment.branch(name)
            let report = options.worker.map { worker in
                WorkerStateFile(WorkerState(worker: worker, pid: getpid(), worktree: root, step: "starting", since: started),
                                path: WorkerState.path(state, worker))
            }
            var events = events
            if let report {
                Self.reportSteps(of: &events, to: report, supervisor: options.supervisor,
                                 agentTimeout: options.agentTimeout ?? experiment.agentTimeout)
            }
            // Other workers and machines write runs too: then the history is read before each step.
            let sharedHistory = options.worker != nil || options.sync != nil
            var history = sharedHistory ? [] : try ledger.recentRuns(experiment: name, limit: AgentContext.historyLimit)
            var counts: [RunStatus: Int] = [:]
            var runs = 0, withoutKeep = 0, failuresInRow = 0, sinceRecheck = 0
            var bestSeen = try branchTip(of: name)
            var stop: StopReason?
            while stop == nil {
                if events.isInterrupted() { stop = .interrupted; break }
                if let maxRuns = options.maxRuns, runs >= maxRuns { stop = .maxRuns; break }
                if let maxTime = options.maxTime, Date().timeIntervalSince(started) >= maxTime { stop = .maxTime; break }
                if let tickets = options.runTickets, try !tickets.take() { stop = .maxRuns; break }
                if let remote = options.sync {
                    report?.step("sync")
                    sync(from: remote, experiment: name, events: events)
                }
                if sharedHistory { history = try ledger.recentRuns(experiment: name, limit: AgentContext.historyLimit) }
                if options.worker != nil { try followBest(experiment: name, branch: workBranch) }
                // Another worker or machine improved the best: patience starts again.
                if case let tip = try branchTip(of: name), tip != bestSeen { withoutKeep = 0; bestSeen = tip }
                let outcome: RunOutcome
                if experiment.recheckEvery > 0, sinceRecheck >= experiment.recheckEvery,
                   let best = try ledger.best(experiment: name, from: try branchTip(of: name)) {
                    outcome = try recheck(best, branch: workBranch, base: try branchTip(workBranch, experiment: name),
                                          experiment: experiment, state: state, events: events)
                    sinceRecheck = 0
                } else {
                    let agent = AgentInvocation(command: command, timeout: options.agentTimeout ?? experiment.agentTimeout,
                                                iteration: runs + 1, history: history)
                    guard case .ran(let ran) = try iterate(experiment: name, state: state, message: nil, agent: agent,
                                                           worker: options.worker, events: events) else {
                        throw AutoresearchError("internal error: an agent iteration ended without a run")
                    }
                    outcome = ran
                    sinceRecheck += 1
                }
                runs += 1
                history = Array(([RunEntry(commit: outcome.commit, record: outcome.record)] + history).prefix(AgentContext.historyLimit))
                let status = outcome.record.status
                counts[status, default: 0] += 1
                report?.update {
                    $0.runs = runs
                    $0.counts[status.rawValue, default: 0] += 1
                    $0.step = "idle"
                }
                onRun(outcome)
                if status != .recheck { withoutKeep = status == .keep ? 0 : withoutKeep + 1 }
                bestSeen = try branchTip(of: name)
                failuresInRow = status.isFailure ? failuresInRow + 1 : 0
                if status == .interrupted {
                    stop = .interrupted
                } else if options.maxCrashes > 0, failuresInRow >= options.maxCrashes {
                    stop = .maxCrashes
                } else if let patience = options.patience, withoutKeep >= patience {
                    stop = .patience
                }
                if let remote = options.sync, status == .keep || runs % options.pushEvery == 0 {
                    report?.step("sync")
                    push(to: remote, experiment: name, events: events)
                }
            }
            if let remote = options.sync, stop != .interrupted { push(to: remote, experiment: name, events: events) }
            report?.update {
                $0.step = "stopped"
                $0.stop = stop!.rawValue
            }
            return try LoopSummary(experiment: name, direction: experiment.direction, stop: stop!, runs: runs, counts: counts,
                                   started: started, startValue: startValue, ledger: ledger, tip: try branchTip(of: name))
        }
    }

    static func noAgentError(_ name: String) -> AutoresearchError {
        AutoresearchError("experiment '\(name)' has no agent, so 'loop' has nothing to run between evaluations",
                          hint: "give one with --agent 'CMD' or 'git autoresearch init --name \(name) --agent CMD' (recipes in docs/agents.md); to drive the experiment yourself, make a change and use 'git autoresearch run'")
    }

    /// Makes a worker's state file follow its steps.
    private static func reportSteps(of events: inout RunEvents, to report: WorkerStateFile, supervisor: Int32?,
                                    agentTimeout: Double) {
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
        events.isInterrupted = { isInterrupted() || supervisor.map { getppid() != $0 } ?? false }
    }

    /// A worker starts each iteration from the best: its branch and work tree move to the
    /// experiment branch's tip. The work tree must be clean (the evaluation wrote no files).
    private func followBest(experiment name: String, branch: String) throws {
        let best = try branchTip(of: name)
        guard try repository.referenceTarget(branch) != best else { return }
        // Files the evaluation left are refused by the iteration when the branch stays; before
        // a move they are refused here, as the reset would overwrite them.
        let changes = try repository.status()
        guard changes.isEmpty else { throw Self.evaluationLeftFiles(changes) }
        try repository.resetHard(to: best)
    }

    /// Pulls from `remote` and adopts a better best; a failure is reported, and the loop goes on.
    func sync(from remote: String, experiment name: String, events: RunEvents) {
        do {
            // Where HEAD is on the experiment branch with a clean work tree (a loop in the main
            // work tree), the files follow an adopted best. Checked before the branch moves: after,
            // the old files look like changes. Any other branch of HEAD is never touched.
            let before = try branchTip(of: name)
            let follows = try repository.head() == .branch(Experiment.branch(name), target: before) && repository.status().isEmpty
            let adopted = try LocalState(repository: repository, experiment: name).withSharedLock("sync") {
                try syncBest(from: remote, experiment: name)
            }
            if let adopted { events.notice(adopted) }
            if follows, try branchTip(of: name) != before { try repository.resetHard(to: try branchTip(of: name)) }
        } catch {
            events.notice("warning: could not pull from \(remote) (\(error)); the loop goes on and tries again before the next run")
        }
    }

    /// Pushes to `remote`; a failure is reported, and the loop goes on.
    private func push(to remote: String, experiment name: String, events: RunEvents) {
        do {
            let report = try LocalState(repository: repository, experiment: name).withSharedLock("sync") {
                try push(remote: remote, experiment: name)
            }
            for skipped in report.skipped { events.notice("not pushed: \(skipped.branch): \(skipped.reason)") }
        } catch {
            events.notice("warning: could not push to \(remote) (\(error)); the loop goes on and pushes again later")
        }
    }
}
