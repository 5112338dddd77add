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

    /// What the summary says.
    public func explanation(_ options: LoopOptions) -> String {
        switch self {
        case .maxRuns: return "reached --max-runs \(options.maxRuns ?? 0)"
        case .maxTime: return "reached --max-time \(Durations.format(options.maxTime ?? 0))"
        case .patience: return "no improvement in \(options.patience ?? 0) runs (--patience)"
        case .maxCrashes: return "\(options.maxCrashes) failures in a row (--max-crashes): check the evaluator and the agent logs"
        case .interrupted: return "interrupted"
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
    /// experiment's lock throughout. `onRun` gets each finished run.
    public func loop(experiment name: String, options: LoopOptions, events: RunEvents = RunEvents(),
                     onRun: (RunOutcome) -> Void = { _ in }) throws -> LoopSummary {
        let experiment = try self.experiment(named: name, at: try branchTip(of: name))
        guard let command = options.agent ?? experiment.agent else {
            throw AutoresearchError("experiment '\(name)' has no agent, so 'loop' has nothing to run between evaluations",
                                    hint: "give one with --agent 'CMD' or 'git autoresearch init --name \(name) --agent CMD' (recipes in docs/agents.md); to drive the experiment yourself, make a change and use 'git autoresearch run'")
        }
        return try withLock(experiment: name, events: events) { state in
            let ledger = Ledger(repository: repository)
            let started = Date()
            let startValue = try ledger.best(experiment: name, from: try branchTip(of: name))?.record.value
            var history = try ledger.recentRuns(experiment: name, limit: AgentContext.historyLimit)
            var counts: [RunStatus: Int] = [:]
            var runs = 0, withoutKeep = 0, failuresInRow = 0, sinceRecheck = 0
            var stop: StopReason?
            while stop == nil {
                if events.isInterrupted() { stop = .interrupted; break }
                if let maxRuns = options.maxRuns, runs >= maxRuns { stop = .maxRuns; break }
                if let maxTime = options.maxTime, Date().timeIntervalSince(started) >= maxTime { stop = .maxTime; break }
                let outcome: RunOutcome
                if experiment.recheckEvery > 0, sinceRecheck >= experiment.recheckEvery,
                   let best = try ledger.best(experiment: name, from: try branchTip(of: name)) {
                    outcome = try recheck(best, experiment: experiment, state: state, events: events)
                    sinceRecheck = 0
                } else {
                    let agent = AgentInvocation(command: command, timeout: options.agentTimeout ?? experiment.agentTimeout,
                                                iteration: runs + 1, history: history)
                    guard case .ran(let ran) = try iterate(experiment: name, state: state, message: nil, agent: agent, events: events) else {
                        throw AutoresearchError("internal error: an agent iteration ended without a run")
                    }
                    outcome = ran
                    sinceRecheck += 1
                }
                runs += 1
                history = Array(([RunEntry(commit: outcome.commit, record: outcome.record)] + history).prefix(AgentContext.historyLimit))
                let status = outcome.record.status
                counts[status, default: 0] += 1
                onRun(outcome)
                if status != .recheck { withoutKeep = status == .keep ? 0 : withoutKeep + 1 }
                failuresInRow = status.isFailure ? failuresInRow + 1 : 0
                if status == .interrupted {
                    stop = .interrupted
                } else if options.maxCrashes > 0, failuresInRow >= options.maxCrashes {
                    stop = .maxCrashes
                } else if let patience = options.patience, withoutKeep >= patience {
                    stop = .patience
                }
            }
            let standing = try ledger.bestAndBaseline(experiment: name, from: try branchTip(of: name))
            return LoopSummary(experiment: name, stop: stop!,
                               counts: RunStatus.allCases.compactMap { status in counts[status].map { (status, $0) } },
                               runs: runs, elapsed: Date().timeIntervalSince(started), startValue: startValue,
                               best: standing?.best, baseline: standing?.baseline, direction: experiment.direction)
        }
    }
}
