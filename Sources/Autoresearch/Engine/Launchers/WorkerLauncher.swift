import Foundation

/// One worker for a launcher to start: the shell command that runs it in its work tree, with
/// settings added to its environment.
public struct WorkerJob: Sendable {
    public let index: Int
    public let command: String
    public let directory: String
    /// Added to the environment the worker inherits (`AUTORESEARCH_WORKER`, `--worker-env`).
    public let environment: [String: String]
    /// Where a launcher keeps its files for this worker (a job script, output files): this path
    /// plus a suffix, on the file system the loop and the worker share.
    public let filesPrefix: String
    /// False when the worker's node may not see the loop's files (`--worker-tree clone`): its
    /// output then stays on the node, and `directory` is one every node has.
    public var sharesFiles = true
}

/// Where a launched worker's output goes.
public enum WorkerOutput: Sendable {
    /// The read ends of pipes on its stdout and stderr (the loop reads and closes them).
    case pipes(output: Int32, errors: Int32)
    /// Files its stdout and stderr are appended to (the loop follows them).
    case files(output: String, errors: String)
}

/// A worker a launcher started.
public struct LaunchedWorker: Sendable {
    /// The launcher's name for it: a process id, a SLURM job id.
    public let id: String
    /// The process id, when the worker is a child process of the loop.
    public let pid: pid_t?
    public let output: WorkerOutput
}

/// Where a launched worker is.
public enum WorkerJobState: Sendable, Equatable {
    /// Waiting for resources; the scheduler's reason.
    case queued(reason: String)
    case running(node: String?)
    case ended(WorkerEnd)
}

/// How a launched worker ended.
public enum WorkerEnd: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
    /// The scheduler ended it (cancelled, preempted, node failure, time limit): its word for it.
    case lost(String)
}

/// Starts, watches and stops the workers of `loop --jobs N`. The loop knows nothing else of where
/// they run: a local process and a SLURM job are two launchers (`LocalLauncher`, `SlurmLauncher`);
/// another engine is one more type. Each worker runs the same `loop --worker-options FILE`.
public protocol WorkerLauncher: AnyObject {
    /// Its name on the command line and in the workers' state files (`local`, `slurm`).
    var name: String { get }
    /// True when workers are child processes of the loop and watch its pid; otherwise they watch
    /// a heartbeat file the loop touches (`LoopOptions.heartbeat`).
    var workersAreChildren: Bool { get }
    /// Seconds between two `state(of:)` questions worth asking.
    var pollInterval: Double { get }
    /// How many times one worker that the scheduler ended (not its own stopping rule) is started again.
    var resubmissions: Int { get }
    /// Starts (or queues) `job`.
    func submit(_ job: WorkerJob) throws -> LaunchedWorker
    /// Where `worker` is now. Once it says `.ended`, it is not asked again.
    func state(of worker: LaunchedWorker) -> WorkerJobState
    /// Passes `signal` (Ctrl-C, SIGTERM) to the worker's process.
    func signal(_ worker: LaunchedWorker, _ signal: Int32)
    /// Stops the worker for good and returns once it ended (or after a bound).
    func cancel(_ worker: LaunchedWorker)
    /// True while the worker `id` (of this or an earlier loop) is queued or running.
    func isActive(id: String) -> Bool
}

/// The launchers by name.
public enum Launchers {
    public static let names = ["local", "slurm"]

    /// The launcher called `name`, with `arguments` for its scheduler (`sbatch` options); nil for an unknown name.
    public static func named(_ name: String, arguments: [String] = []) -> WorkerLauncher? {
        switch name {
        case "local": return LocalLauncher()
        case "slurm": return SlurmLauncher(arguments: arguments)
        default: return nil
        }
    }
}
