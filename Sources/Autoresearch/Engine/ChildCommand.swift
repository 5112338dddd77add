import Foundation

/// The environment of a command run for an experiment (the agent, an evaluator): the tool's own,
/// plus the `AUTORESEARCH_*` variables that tell it what it runs for.
struct ChildEnvironment {
    private(set) var variables = ProcessInfo.processInfo.environment

    /// The variables of every command of run `run`; `best` is the best value so far.
    init(experiment: Experiment, run: String, best: Double?) {
        set("EXPERIMENT", experiment.name)
        set("RUN_ID", run)
        set("METRIC", experiment.metric)
        set("DIRECTION", experiment.direction.rawValue)
        set("BEST", best.map { "\($0)" } ?? "")
    }

    /// Sets `AUTORESEARCH_<name>`.
    mutating func set(_ name: String, _ value: String) {
        variables["AUTORESEARCH_" + name] = value
    }

    /// Sets `AUTORESEARCH_<name>` to whole seconds.
    mutating func set(_ name: String, seconds: Double) {
        set(name, Number.printf("%.0f", seconds))
    }
}

/// Why a run fails where one of its commands ended.
struct CommandFailure {
    /// Which command ended: the agent and an evaluator fail with other statuses and words.
    enum Command {
        case agent, evaluator
    }

    let status: RunStatus
    let reason: String
    let exitCode: Int32?

    init(_ status: RunStatus, _ reason: String, exitCode: Int32? = nil) {
        self.status = status
        self.reason = reason
        self.exitCode = exitCode
    }

    /// The failure in how `result` ended; nil when the command exited with status 0.
    /// - Parameters:
    ///   - limit: the command's hard limit, which a timeout names.
    ///   - logLimit: the log's size limit, which an evaluator's failure names when its log was cut.
    init?(_ result: CommandResult, of command: Command, limit: Double, logLimit: Int) {
        let cut = Self.logCutNote(result, logLimit: logLimit)
        switch (result.termination, command) {
        case (.exited(0), _):
            return nil
        case (.interrupted, .agent):
            self.init(.interrupted, "stopped by the user during the agent step")
        case (.interrupted, .evaluator):
            self.init(.interrupted, "stopped by the user after \(Durations.format(result.duration))")
        case (.timedOut, .agent):
            self.init(.agentError, "the agent ran past its limit of \(Durations.format(limit))")
        case (.timedOut, .evaluator):
            self.init(.timeout, "killed at the hard limit of \(Durations.format(limit))" + cut)
        case (.signaled(let signal), .agent):
            self.init(.agentError, "the agent was killed by signal \(signal)")
        case (.signaled(let signal), .evaluator):
            self.init(.crash, "killed by signal \(signal)" + cut)
        case (.exited(let code), .agent):
            self.init(.agentError, "the agent exited with status \(code)", exitCode: code)
        case (.exited(let code), .evaluator):
            self.init(.crash, "exit status \(code)" + cut, exitCode: code)
        }
    }

    /// What an evaluator's failure reason adds when its log was cut at `logLimit` bytes.
    static func logCutNote(_ result: CommandResult, logLimit: Int) -> String {
        result.logTruncated ? "; output cut at \(logLimit) bytes in the log" : ""
    }
}
