import CProcessSupport
import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// Names of the parallel workers of `loop --jobs N`: worker `i` works in a linked work tree
/// `.git/autoresearch/NAME/workers/i` (git's name `autoresearch-NAME-i`) on the branch
/// `autoresearch-workers/NAME/i`, and reports itself in `.git/autoresearch/NAME/workers/i.json`.
public enum Workers {
    /// Where worker branches live (outside `refs/heads/autoresearch/`, which holds experiments).
    public static let branchPrefix = "refs/heads/autoresearch-workers/"

    /// Where the branches of one experiment's workers live.
    static func branches(of experiment: String) -> String { branchPrefix + "\(experiment)/" }
    static func branch(_ experiment: String, _ index: Int) -> String { branches(of: experiment) + String(index) }

    /// The experiment a branch works on: `autoresearch/NAME` or a worker's
    /// `autoresearch-workers/NAME/I` (full names); nil for any other branch.
    static func experiment(ofBranch branch: String) -> String? {
        if branch.hasPrefix(Experiment.branchPrefix) { return String(branch.dropFirst(Experiment.branchPrefix.count)) }
        guard branch.hasPrefix(branchPrefix), let slash = branch.lastIndex(of: "/"),
              branch.index(branch.startIndex, offsetBy: branchPrefix.count) < slash else { return nil }
        return String(branch[branch.index(branch.startIndex, offsetBy: branchPrefix.count)..<slash])
    }
    static func worktreePrefix(_ experiment: String) -> String { "autoresearch-\(experiment)-" }
    static func worktreeName(_ experiment: String, _ index: Int) -> String { worktreePrefix(experiment) + String(index) }
}

/// What a worker says about itself while it runs, for `status` and for the loop's summary.
public struct WorkerState: Codable, Sendable {
    public var worker: Int
    public var pid: Int32
    public var worktree: String
    /// `starting`, `sync`, `agent`, `evaluation`, `recording` or `stopped`.
    public var step: String
    /// The run in progress.
    public var run: String?
    /// When the step started.
    public var since: Date
    /// The time the step is meant to take (the evaluation's budget, the agent's limit).
    public var budget: Double?
    public var runs = 0
    /// Runs by status.
    public var counts: [String: Int] = [:]
    /// Why the worker stopped (a `StopReason`), once it did.
    public var stop: String?

    /// Seconds since the step started.
    public var elapsed: Double { Date().timeIntervalSince(since) }

    /// True while the worker's process lives.
    public var isAlive: Bool { GroupProcess.isAlive(pid) }

    static func path(_ state: LocalState, _ index: Int) -> String { state.workersDirectory + "/\(index).json" }

    static func read(_ path: String) -> WorkerState? { StateFile.read(WorkerState.self, from: path) }
}

/// A worker's state file, updated as its steps go. A state that cannot be written only makes
/// `status` less informative: the worker goes on.
final class WorkerStateFile {
    private var state: WorkerState
    let path: String

    init(_ state: WorkerState, path: String) {
        self.state = state
        self.path = path
        try? StateFile.write(state, to: path)
    }

    func update(_ change: (inout WorkerState) -> Void) {
        change(&state)
        try? StateFile.write(state, to: path)
    }

    func step(_ name: String, run: String? = nil, budget: Double? = nil) {
        update {
            $0.step = name
            $0.run = run ?? $0.run
            $0.since = Date()
            $0.budget = budget
        }
    }
}

/// Runs `body` holding an exclusive `flock` on `path` (created if needed), which the kernel
/// releases if the process dies.
func withFileLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw AutoresearchError("cannot open the lock \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    while flock(fd, LOCK_EX) != 0 {
        guard errno == EINTR else { throw AutoresearchError("cannot lock \(path): \(String(cString: strerror(errno)))") }
    }
    return try body()
}

/// The runs workers may still start (`loop --jobs N --max-runs M`), a number in a file that each
/// worker decrements under a lock before each run, so the total is M however the work is shared.
public struct RunTickets: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    static func create(at path: String, count: Int) throws {
        try withFileLock(path + ".lock") {
            guard FileManager.default.createFile(atPath: path, contents: Data("\(count)\n".utf8)) else {
                throw AutoresearchError("cannot write \(path)")
            }
        }
    }

    /// Takes one run; false when none is left.
    func take() throws -> Bool {
        try withFileLock(path + ".lock") {
            let left = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            guard left > 0 else { return false }
            guard FileManager.default.createFile(atPath: path, contents: Data("\(left - 1)\n".utf8)) else {
                throw AutoresearchError("cannot write \(path)")
            }
            return true
        }
    }
}

/// How `loop --jobs N` starts its workers.
public struct WorkerLaunch {
    public var jobs: Int
    /// `KEY=VALUE` settings for each worker's environment, `{worker}` replaced by its number
    /// (`CUDA_VISIBLE_DEVICES={worker}`).
    public var environment: [String] = []
    /// The shell command that runs worker `i` (in its work tree) with these options.
    public var command: (_ worker: Int, _ options: LoopOptions) -> String

    public init(jobs: Int, environment: [String], command: @escaping (_ worker: Int, _ options: LoopOptions) -> String) {
        self.jobs = jobs
        self.environment = environment
        self.command = command
    }
}

extension Workspace {
    /// True in the work tree of a parallel worker.
    var isWorkerWorktree: Bool {
        guard case .branch(let branch, _) = try? repository.head() else { return false }
        return branch.hasPrefix(Workers.branchPrefix)
    }

    /// The live workers of an experiment, by number.
    public func liveWorkers(experiment name: String) -> [WorkerState] {
        let state = LocalState(repository: repository, experiment: name)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: state.workersDirectory)) ?? []
        return files.filter { $0.hasSuffix(".json") }
            .compactMap { WorkerState.read(state.workersDirectory + "/" + $0) }
            .filter(\.isAlive)
            .sorted { $0.worker < $1.worker }
    }

    /// Removes what workers that are gone left behind (killed, or left by a killed loop): each
    /// one's unfinished run is settled first (recorded as interrupted, its work kept on the
    /// attempts chain), then its work tree, branch and state file go. Live workers are left alone.
    func cleanUpWorkers(experiment name: String, events: RunEvents) throws {
        let prefix = Workers.worktreePrefix(name)
        var indices = Set(try repository.worktreeNames().filter { $0.hasPrefix(prefix) }.compactMap { Int($0.dropFirst(prefix.count)) })
        let branches = Workers.branches(of: name)
        for (ref, _) in try repository.references(matching: branches + "*") {
            if let index = Int(ref.dropFirst(branches.count)) { indices.insert(index) }
        }
        for index in indices.sorted() {
            if let repaired = try removeWorker(index, experiment: name) { events.notice("worker \(index): \(repaired)") }
        }
    }

    /// Settles worker `index`'s unfinished run, if any, then removes its work tree, branch and
    /// state file, unless the worker still runs. Returns what was repaired.
    func removeWorker(_ index: Int, experiment name: String) throws -> String? {
        let worktree = Workers.worktreeName(name, index)
        var repaired: String?
        if let path = try repository.worktreePath(name: worktree), FileManager.default.fileExists(atPath: path + "/.git") {
            let worker = try Workspace(discoveringFrom: path)
            let state = LocalState(repository: worker.repository, experiment: name)
            if state.lockHolder() != nil { return nil }
            if state.readMarker() != nil {
                try state.acquireLock(experiment: name)
                defer { state.releaseLock() }
                repaired = try worker.repairUnfinishedIteration(experiment: name, state: state)
            }
        }
        try repository.removeWorktree(name: worktree)
        try repository.deleteReference(Workers.branch(name, index))
        // What git no longer knows as a work tree (a loop killed while adding it) goes too.
        let shared = LocalState(repository: repository, experiment: name)
        unlink(WorkerState.path(shared, index))
        try? FileManager.default.removeItem(atPath: shared.workersDirectory + "/\(index)")
        return repaired
    }

    /// Makes worker `index`'s branch (at the experiment branch's tip) and work tree; returns its path.
    private func addWorker(_ index: Int, experiment name: String, state: LocalState) throws -> String {
        let path = state.workersDirectory + "/\(index)"
        try FileManager.default.createDirectory(atPath: state.workersDirectory, withIntermediateDirectories: true)
        try repository.setReference(Workers.branch(name, index), to: try branchTip(of: name), message: "autoresearch: worker \(index)")
        try repository.addWorktree(name: Workers.worktreeName(name, index), path: path, branch: Workers.branch(name, index))
        return path
    }

    /// `loop --jobs N`: measures the baseline (or the changes waiting on the branch) here first,
    /// then runs N workers, each a `loop` process in its own work tree, until they stop; forwards
    /// Ctrl-C / SIGTERM to them; settles and removes a worker that dies; removes every work tree
    /// at the end. This work tree's HEAD is detached at the starting best while workers move the
    /// experiment branch, and put back on it at the end.
    public func loopInParallel(experiment name: String, options: LoopOptions, launch: WorkerLaunch, events: RunEvents = RunEvents(),
                               onRun: (RunOutcome) -> Void = { _ in }) throws -> LoopSummary {
        let experiment = try self.experiment(named: name, at: try branchTip(of: name))
        guard options.agent ?? experiment.agent != nil else { throw Self.noAgentError(name) }
        if let remote = options.sync { _ = try remoteURL(remote) }
        return try withLock(experiment: name, events: events) { state in
            let others = liveWorkers(experiment: name)
            guard others.isEmpty else {
                throw AutoresearchError("workers of an earlier loop still run (pid \(others.map { String($0.pid) }.joined(separator: ", ")))",
                                        hint: "wait for them to stop (their loop is gone, so they stop after their current step), or kill them")
            }
            let started = Date()
            let ledger = Ledger(repository: repository)
            let startValue = try ledger.best(experiment: name, from: try branchTip(of: name))?.record.value
            var counts: [RunStatus: Int] = [:]
            var runs = 0
            var stops: [StopReason] = []
            if let remote = options.sync { sync(from: remote, experiment: name, events: events) }
            if case .ran(let outcome) = try iterate(experiment: name, state: state, message: nil, agent: nil, events: events) {
                runs += 1
                counts[outcome.record.status, default: 0] += 1
                onRun(outcome)
                if outcome.record.status == .interrupted { stops.append(.interrupted) }
            }
            if stops.isEmpty, try ledger.best(experiment: name, from: try branchTip(of: name)) == nil {
                throw AutoresearchError("the baseline run failed, so the workers would have nothing to improve on",
                                        hint: "fix the evaluator (git autoresearch log shows why), then start the loop again")
            }
            var workerOptions = options
            workerOptions.supervisor = getpid()
            workerOptions.maxTime = options.maxTime.map { $0 - Date().timeIntervalSince(started) }
            if let maxRuns = options.maxRuns {
                let tickets = state.workersDirectory + "/runs-left"
                try FileManager.default.createDirectory(atPath: state.workersDirectory, withIntermediateDirectories: true)
                try RunTickets.create(at: tickets, count: maxRuns - runs)
                workerOptions.maxRuns = nil
                workerOptions.runTickets = RunTickets(path: tickets)
            }
            if stops.isEmpty, (options.maxRuns ?? Int.max) > runs {
                let tip = try branchTip(of: name)
                try repository.detachHead(at: tip)
                defer { reattachHead(experiment: name, detachedAt: tip, events: events) }
                let outcome = try superviseWorkers(experiment: name, options: workerOptions, launch: launch, state: state, events: events)
                runs += outcome.runs
                for (status, count) in outcome.counts { counts[status, default: 0] += count }
                stops += outcome.stops
            }
            let stop = [StopReason.interrupted, .workerFailed, .maxCrashes, .maxRuns, .maxTime, .patience].first(where: stops.contains) ?? .maxRuns
            return try LoopSummary(experiment: name, direction: experiment.direction, stop: stop, runs: runs, counts: counts,
                                   started: started, startValue: startValue, ledger: ledger, tip: try branchTip(of: name))
        }
    }

    /// Starts the workers and waits for them all, passing their output on line by line (so the
    /// front end can keep a progress line of all workers apart from it); returns their runs and
    /// why each stopped.
    private func superviseWorkers(experiment name: String, options: LoopOptions, launch: WorkerLaunch, state: LocalState,
                                  events: RunEvents) throws -> (runs: Int, counts: [RunStatus: Int], stops: [StopReason]) {
        var workers: [SupervisedWorker] = []
        var runs = 0
        var counts: [RunStatus: Int] = [:]
        var stops: [StopReason] = []
        defer {
            // Whatever happens here, no worker outlives the loop unsupervised.
            for worker in workers where worker.status == nil { kill(worker.pid, SIGTERM) }
            for worker in workers where worker.status == nil { waitpid(worker.pid, nil, 0) }
            for worker in workers { worker.closeOutputs(events) }
            for index in 0..<launch.jobs { _ = try? removeWorker(index, experiment: name) }
        }
        for index in 0..<launch.jobs {
            workers.append(try startWorker(index, experiment: name, options: options, launch: launch, state: state))
        }
        events.notice("\(launch.jobs) workers started in work trees under \(state.workersDirectory) (git autoresearch status shows them)")
        var forwarded = 0
        var lastProgress = Date.distantPast
        while workers.contains(where: { !$0.isDone }) {
            let interrupts = Int(cps_interrupt_count())
            if interrupts > forwarded {
                for worker in workers where worker.status == nil { kill(worker.pid, cps_last_interrupt_signal()) }
                forwarded = interrupts
            }
            SupervisedWorker.relayOutput(of: workers, waitingAtMost: 200, events: events)
            for worker in workers where !worker.isDone {
                var status: Int32 = 0
                if worker.status == nil, waitpid(worker.pid, &status, WNOHANG) == worker.pid {
                    worker.status = status
                    worker.ended = Date()
                }
                // Output still open two seconds after the end is held by a stray child: let it go.
                guard let status = worker.status, let ended = worker.ended,
                      worker.outputs.isEmpty || Date().timeIntervalSince(ended) > 2 else { continue }
                worker.closeOutputs(events)
                worker.isDone = true
                let reported = WorkerState.read(WorkerState.path(state, worker.index))
                runs += reported?.runs ?? 0
                for (status, count) in reported?.counts ?? [:] {
                    if let status = RunStatus(rawValue: status) { counts[status, default: 0] += count }
                }
                let termination = Termination(waitStatus: status)
                if let stop = reported?.stop.flatMap(StopReason.init(rawValue:)) {
                    stops.append(stop)
                } else if case .signaled(let signal) = termination {
                    events.notice("worker \(worker.index) was killed (signal \(signal)); the others go on")
                } else if case .exited(let code) = termination, code != 0 {
                    events.notice("worker \(worker.index) stopped with an error (exit \(code), see its message above); the others go on")
                    stops.append(.workerFailed)
                }
                if let repaired = try removeWorker(worker.index, experiment: name) {
                    events.notice("worker \(worker.index): \(repaired)")
                    runs += 1
                    counts[.interrupted, default: 0] += 1
                }
            }
            if Date().timeIntervalSince(lastProgress) >= 1 {
                lastProgress = Date()
                events.workersProgress(workers.filter { $0.status == nil }
                    .compactMap { WorkerState.read(WorkerState.path(state, $0.index)) })
            }
        }
        return (runs, counts, stops)
    }

    /// Makes worker `index`'s work tree and starts its process there, with its environment and
    /// its stdout and stderr on pipes.
    private func startWorker(_ index: Int, experiment name: String, options: LoopOptions, launch: WorkerLaunch,
                             state: LocalState) throws -> SupervisedWorker {
        let path = try addWorker(index, experiment: name, state: state)
        var environment = ProcessInfo.processInfo.environment
        environment["AUTORESEARCH_WORKER"] = String(index)
        // Untracked and ignored files (data sets, virtual environments) exist only there.
        environment["AUTORESEARCH_MAIN_WORKTREE"] = root
        for setting in launch.environment {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            environment[parts[0]] = parts.count > 1 ? parts[1].replacingOccurrences(of: "{worker}", with: String(index)) : ""
        }
        let output = try GroupProcess.makePipe()
        defer { close(output.write) }
        let errors: (read: Int32, write: Int32)
        do { errors = try GroupProcess.makePipe() } catch { close(output.read); throw error }
        defer { close(errors.write) }
        let pid: pid_t
        do {
            pid = try GroupProcess.spawn(launch.command(index, options), in: path, environment: environment,
                                         output: output.write, errors: errors.write)
        } catch {
            close(output.read)
            close(errors.read)
            throw error
        }
        _ = WorkerStateFile(WorkerState(worker: index, pid: pid, worktree: path, step: "starting", since: Date()),
                            path: WorkerState.path(state, index))
        return SupervisedWorker(index: index, pid: pid, output: output.read, errors: errors.read)
    }

    /// Puts this work tree back on the experiment branch, at its new tip, when nobody changed
    /// tracked files while it was detached at `detachedAt` (untracked files stay, and one in the
    /// way stops the switch); otherwise leaves it detached and says why.
    private func reattachHead(experiment name: String, detachedAt: OID, events: RunEvents) {
        do {
            guard try repository.head() == .detached(detachedAt) else { return }
            let changes = try repository.status().filter { !$0.isUntracked }
            guard changes.isEmpty else {
                events.notice("the work tree changed while the workers ran (\(Self.listPaths(changes.map(\.path)))): HEAD stays detached at \(detachedAt.short) so nothing is lost; the best is on autoresearch/\(name)")
                return
            }
            try repository.switchToBranch(Experiment.branch(name))
        } catch {
            events.notice("could not put HEAD back on autoresearch/\(name): \(error); run 'git switch autoresearch/\(name)'")
        }
    }
}

/// A worker process the loop supervises, with the read ends of its stdout and stderr.
private final class SupervisedWorker {
    struct Output {
        let fd: Int32
        let isError: Bool
        var lines = LineSplitter(maxLineBytes: GroupProcess.maxLineBytes, tailLines: 0)
    }

    let index: Int
    let pid: pid_t
    /// The pipes still open.
    var outputs: [Output]
    /// The wait status, once the process ended, and when that was seen.
    var status: Int32?
    var ended: Date?
    /// Ended, output passed on, work tree settled and removed.
    var isDone = false

    init(index: Int, pid: pid_t, output: Int32, errors: Int32) {
        self.index = index
        self.pid = pid
        outputs = [Output(fd: output, isError: false), Output(fd: errors, isError: true)]
    }

    /// Waits up to `milliseconds` for output of any worker and passes every complete line on.
    static func relayOutput(of workers: [SupervisedWorker], waitingAtMost milliseconds: Int32, events: RunEvents) {
        var polled: [pollfd] = [], owners: [(worker: SupervisedWorker, output: Int)] = []
        for worker in workers {
            for (position, output) in worker.outputs.enumerated() {
                polled.append(pollfd(fd: output.fd, events: Int16(POLLIN), revents: 0))
                owners.append((worker, position))
            }
        }
        guard !polled.isEmpty else {
            usleep(UInt32(milliseconds) * 1000)
            return
        }
        guard poll(&polled, nfds_t(polled.count), milliseconds) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var finished: [(worker: SupervisedWorker, fd: Int32)] = []
        for (entry, owner) in zip(polled, owners) where entry.revents != 0 {
            let count = read(entry.fd, &buffer, buffer.count)
            guard count > 0 else {
                finished.append((owner.worker, entry.fd))
                continue
            }
            let isError = owner.worker.outputs[owner.output].isError
            owner.worker.outputs[owner.output].lines.feed(buffer[0..<count]) { events.workerOutput($0, isError) }
        }
        for (worker, fd) in finished { worker.close(fd, events) }
    }

    /// Passes on what is left of every open pipe and closes them.
    func closeOutputs(_ events: RunEvents) {
        for output in outputs { close(output.fd, events) }
    }

    private func close(_ fd: Int32, _ events: RunEvents) {
        guard let position = outputs.firstIndex(where: { $0.fd == fd }) else { return }
        var output = outputs.remove(at: position)
        output.lines.finish { events.workerOutput($0, output.isError) }
        Glibc.close(fd)
    }
}
