import CProcessSupport
import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

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
    /// For a worker a scheduler runs (not a child process of the loop): the launcher's name
    /// (`slurm`), the job's id there, and the machine the worker runs on once it started.
    public var launcher: String?
    public var job: String?
    public var node: String?

    /// Seconds since the step started.
    public var elapsed: Double { Date().timeIntervalSince(since) }

    /// True while the worker's process lives (for a scheduler's job: while the job is queued or runs).
    public var isAlive: Bool {
        if let launcher, let job { return Launchers.named(launcher)?.isActive(id: job) ?? false }
        return GroupProcess.isAlive(pid)
    }

    /// The state a worker starts with in its own process: `launcher` and `job` as its loop wrote
    /// them into the file at `path` when it submitted it.
    static func starting(worker: Int, worktree: String, at path: String) -> WorkerState {
        var state = WorkerState(worker: worker, pid: getpid(), worktree: worktree, step: "starting", since: Date())
        if let submitted = read(path), let launcher = submitted.launcher {
            (state.launcher, state.job, state.node) = (launcher, submitted.job, Workspace.hostName)
        }
        return state
    }

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

/// The runs workers may still start (`loop --jobs N --max-runs M`), a number in a file that each
/// worker decrements under a lock before each run, so the total is M however the work is shared.
public struct RunTickets: Sendable, Codable {
    public let path: String

    public init(path: String) { self.path = path }

    static func create(at path: String, count: Int) throws {
        try FileLock.withLock(path + ".lock") {
            guard LocalFile.replace(path, with: Array("\(count)\n".utf8)) else {
                throw AutoresearchError("cannot write \(path)")
            }
        }
    }

    /// Takes one run; false when none is left.
    func take() throws -> Bool {
        try FileLock.withLock(path + ".lock") {
            let left = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            guard left > 0 else { return false }
            guard LocalFile.replace(path, with: Array("\(left - 1)\n".utf8)) else {
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
    /// The shell command that runs worker `i` (in its work tree) with the `LoopOptions` written
    /// to `optionsFile` (`LoopOptions(contentsOf:)` reads them).
    public var command: (_ worker: Int, _ optionsFile: String) -> String
    /// Where the workers run: child processes here (`LocalLauncher`), SLURM jobs (`SlurmLauncher`).
    public var launcher: WorkerLauncher
    /// Where each worker works: a linked work tree, or its own clone of the `--sync` remote.
    public var workerTree = WorkerTree.shared
    /// This program as a worker's job runs it to make its own clone and check that its records
    /// are on the remote (`CloneWorker`); by default found on the job's `PATH`.
    public var program = "git-autoresearch"

    public init(jobs: Int, environment: [String], launcher: WorkerLauncher = LocalLauncher(),
                command: @escaping (_ worker: Int, _ optionsFile: String) -> String) {
        self.jobs = jobs
        self.environment = environment
        self.launcher = launcher
        self.command = command
    }
}

extension Workspace {
    /// The live workers of an experiment, by number.
    public func liveWorkers(experiment name: String) -> [WorkerState] {
        context(name).liveWorkers()
    }

    /// `loop --jobs N`: measures the baseline (or the changes waiting on the branch) here first,
    /// then runs N workers, each a `loop` process in its own work tree, until they stop; forwards
    /// Ctrl-C / SIGTERM to them; settles and removes a worker that dies; removes every work tree
    /// at the end. This work tree's HEAD is detached at the starting best while workers move the
    /// experiment branch, and put back on it at the end.
    public func loopInParallel(experiment name: String, options: LoopOptions, launch: WorkerLaunch, events: RunEvents = RunEvents(),
                               onRun: (RunOutcome) -> Void = { _ in }) throws -> LoopSummary {
        try context(name, events: events).loopInParallel(options: options, launch: launch, onRun: onRun)
    }
}

/// What the workers of a loop did, as they end.
struct WorkersTally {
    var runs = 0
    var counts: [RunStatus: Int] = [:]
    var stops: [StopReason] = []

    mutating func add(_ status: RunStatus, count: Int = 1) {
        runs += count
        counts[status, default: 0] += count
    }

    /// The stop that speaks for the whole loop: the most serious one a worker gave.
    var stop: StopReason {
        [StopReason.interrupted, .workerFailed, .maxCrashes, .maxRuns, .maxTime, .patience].first(where: stops.contains) ?? .maxRuns
    }
}

extension ExperimentContext {
    /// True in the work tree of a parallel worker.
    var isWorkerWorktree: Bool {
        guard case .branch(let branch, _) = try? repository.head() else { return false }
        return branch.hasPrefix(Refs.workerBranchPrefix)
    }

    /// The live workers of this experiment, by number.
    func liveWorkers() -> [WorkerState] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: state.workersDirectory)) ?? []
        return files.filter { $0.hasSuffix(".json") }
            .compactMap { WorkerState.read(state.workersDirectory + "/" + $0) }
            .filter(\.isAlive)
            .sorted { $0.worker < $1.worker }
    }

    /// Puts HEAD back on the experiment branch where a killed `loop --jobs` left it detached.
    func reattachHeadLeftDetached() {
        guard let bytes = LocalFile.read(state.detachedHeadPath, atMost: 4096),
              case let text = String(decoding: bytes, as: UTF8.self), let detached = OID(hex: text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return }
        if case .detached(detached) = try? repository.head() {
            events.notice("a killed 'loop --jobs' left HEAD detached at \(detached.short): putting it back on autoresearch/\(name)")
        }
        reattachHead(detachedAt: detached)
    }

    /// Removes what workers that are gone left behind (killed, or left by a killed loop): each
    /// one's unfinished run is settled first (recorded as interrupted, its work kept on the
    /// attempts chain), then its work tree (with what an interrupted add left of it), branch and
    /// state file go. Live workers are left alone.
    func cleanUpWorkers() throws {
        for index in try workerIndicesLeft().sorted() {
            cancelJobLeftBehind(index)
            if let repaired = try removeWorker(index) { events.notice("worker \(index): \(repaired)") }
        }
    }

    /// Whether workers' work trees, branches or state files are left (of live workers, or of dead
    /// ones that `cleanUpWorkers` removes).
    var hasWorkerLeftovers: Bool {
        (try? workerIndicesLeft().isEmpty == false) ?? false
            || ((try? FileManager.default.contentsOfDirectory(atPath: state.workersDirectory)) ?? []).contains { $0.hasSuffix(".json") }
    }

    /// The numbers of the workers whose work tree (or what an interrupted add or removal left of
    /// its administrative files) or branch exists.
    private func workerIndicesLeft() throws -> Set<Int> {
        let prefix = refs.worktreePrefix
        let worktrees = repository.worktreeAdministrativeNames().filter { $0.hasPrefix(prefix) }
        var indices = Set(worktrees.compactMap { Int($0.dropFirst(prefix.count)) })
        for (ref, _) in try repository.references(matching: refs.workerBranches + "*") {
            if let index = Int(ref.fullName.dropFirst(refs.workerBranches.count)) { indices.insert(index) }
        }
        return indices
    }

    /// Cancels worker `index`'s scheduler job when it is still queued or running: its loop, which
    /// held this experiment's lock, is gone.
    private func cancelJobLeftBehind(_ index: Int) {
        guard let worker = WorkerState.read(state.workerStatePath(index)), let name = worker.launcher, let job = worker.job,
              let launcher = Launchers.named(name), launcher.isActive(id: job) else { return }
        events.notice("worker \(index): cancelling \(name) job \(job), whose loop is gone")
        launcher.cancel(LaunchedWorker(id: job, pid: nil, output: .files(output: "", errors: "")))
    }

    /// Settles worker `index`'s unfinished run, if any, then removes its work tree, branch and
    /// files, unless the worker still runs. Returns what was repaired.
    func removeWorker(_ index: Int) throws -> String? {
        let worktree = refs.worktreeName(index)
        var repaired: String?
        let path = try repository.worktreePath(name: worktree)
        if let path, FileManager.default.fileExists(atPath: path + "/.git") {
            let worker = try Workspace(discoveringFrom: path).context(name)
            if worker.state.lockHolder() != nil { return nil }
            if worker.state.readMarker() != nil {
                // A worker that started meanwhile has the lock: it is alive, nothing to remove.
                guard let lock = try? worker.state.lock(experiment: name) else { return nil }
                defer { lock.release() }
                repaired = try worker.repairUnfinishedIteration()
            }
        }
        let administrative = repository.worktreeAdministrativeDirectory(name: worktree)
        if path == nil, FileManager.default.fileExists(atPath: administrative) {
            events.notice("removed \(administrative), which an interrupted 'git worktree add' left")
        }
        try repository.removeWorktree(name: worktree)
        try movingBranches { try repository.deleteReference(refs.workerBranch(index)) }
        // What git no longer knows as a work tree (a loop killed while adding it) goes too.
        unlink(state.workerStatePath(index))
        unlink(state.workerOptionsPath(index))
        for suffix in SlurmLauncher.fileSuffixes { unlink(state.workerDirectory(index) + suffix) }
        try? FileManager.default.removeItem(atPath: state.workerDirectory(index))
        return repaired
    }

    /// Makes worker `index`'s branch (at the experiment branch's tip) and work tree; returns its path.
    private func addWorker(_ index: Int) throws -> String {
        let path = state.workerDirectory(index)
        try FileManager.default.createDirectory(atPath: state.workersDirectory, withIntermediateDirectories: true)
        try movingBranches { try repository.setReference(refs.workerBranch(index), to: try tip(), message: "autoresearch: worker \(index)") }
        try repository.addWorktree(name: refs.worktreeName(index), path: path, branch: refs.workerBranch(index))
        return path
    }

    /// The parallel loop of `Workspace.loopInParallel`, on this experiment.
    func loopInParallel(options: LoopOptions, launch: WorkerLaunch, onRun: (RunOutcome) -> Void) throws -> LoopSummary {
        let experiment = try configuration()
        guard options.agent ?? experiment.agent != nil else { throw Self.noAgentError(name) }
        if let remote = options.sync { _ = try workspace.remoteURL(remote) }
        _ = try watchIsWanted()
        return try withLock {
            let others = liveWorkers()
            guard others.isEmpty else {
                throw AutoresearchError("workers of an earlier loop still run (pid \(others.map { String($0.pid) }.joined(separator: ", ")))",
                                        hint: "wait for them to stop (their loop is gone, so they stop after their current step), or kill them")
            }
            try adoptUntrackedFilesAsUsers()
            try announceFilesLeftAlone()
            let started = Date()
            let startValue = try ledger.best(experiment: name, from: try tip())?.record.value
            var tally = WorkersTally()
            // A best adopted here is not measured again before the workers start (see docs/security.md).
            if let remote = options.sync { _ = sync(from: remote) }
            if case .ran(let outcome) = try iterate(message: nil, agent: nil) {
                tally.add(outcome.record.status)
                onRun(outcome)
                if outcome.record.status == .interrupted { tally.stops.append(.interrupted) }
            }
            if tally.stops.isEmpty, try ledger.best(experiment: name, from: try tip()) == nil {
                throw AutoresearchError("the baseline run failed, so the workers would have nothing to improve on",
                                        hint: "fix the evaluator (git autoresearch log shows why), then start the loop again")
            }
            if tally.stops.isEmpty, (options.maxRuns ?? Int.max) > tally.runs {
                if launch.workerTree == .clone, let remote = options.sync {
                    // The workers clone the remote: it must hold the experiment and its best first.
                    _ = try state.withSharedLock("sync") { try workspace.push(remote: remote, experiment: name, notice: events.notice) }
                }
                let tip = try tip()
                try tip.hex.write(toFile: state.detachedHeadPath, atomically: true, encoding: .utf8)
                try repository.detachHead(at: tip)
                defer { reattachHead(detachedAt: tip) }
                try superviseWorkers(options: try workerOptions(options, started: started, runsDone: tally.runs, launch: launch),
                                     launch: launch, tally: &tally)
            }
            return try summary(stop: tally.stop, counts: tally.counts, runs: tally.runs, started: started,
                               startValue: startValue, direction: experiment.direction)
        }
    }

    /// The options every worker gets: this loop as supervisor (its pid for child processes, a
    /// heartbeat file for a scheduler's jobs), the time left, and the runs left as tickets they share.
    /// Workers in clones share no file with the loop: they get the runs left as `maxRuns`, which
    /// `superviseWorkers` splits among them.
    private func workerOptions(_ options: LoopOptions, started: Date, runsDone: Int, launch: WorkerLaunch) throws -> LoopOptions {
        var workerOptions = options
        try FileManager.default.createDirectory(atPath: state.workersDirectory, withIntermediateDirectories: true)
        workerOptions.maxTime = options.maxTime.map { $0 - Date().timeIntervalSince(started) }
        if launch.workerTree == .clone {
            workerOptions.maxRuns = options.maxRuns.map { $0 - runsDone }
            return workerOptions
        }
        if launch.launcher.workersAreChildren {
            workerOptions.supervisor = getpid()
        } else {
            workerOptions.heartbeat = state.workersDirectory + "/heartbeat"
        }
        if let maxRuns = options.maxRuns {
            try RunTickets.create(at: state.runTicketsPath, count: maxRuns - runsDone)
            workerOptions.maxRuns = nil
            workerOptions.runTickets = RunTickets(path: state.runTicketsPath)
        }
        return workerOptions
    }

    /// Starts the workers and waits for them all, passing their output on line by line (so the
    /// front end can keep a progress line of all workers apart from it); adds their runs and why
    /// each stopped to `tally`. A worker the scheduler ended is submitted again, within its bound.
    private func superviseWorkers(options: LoopOptions, launch: WorkerLaunch, tally: inout WorkersTally) throws {
        let launcher = launch.launcher
        var workers: [SupervisedWorker] = []
        let heartbeat = options.heartbeat.map(HeartbeatWriter.init)
        defer {
            // Whatever happens here, no worker outlives the loop unsupervised.
            for worker in workers where worker.end == nil { launcher.signal(worker.launched, SIGTERM) }
            for worker in workers where worker.end == nil { launcher.cancel(worker.launched) }
            for worker in workers { worker.closeOutputs(events) }
            for index in 0..<launch.jobs { _ = try? removeWorker(index) }
            heartbeat?.stop()
            if let path = options.heartbeat { unlink(path) }
        }
        let supervisionStarted = Date()
        // Runs of workers in clones are those not known now (by id: the nodes' clocks may differ).
        let runsBefore = launch.workerTree == .clone ? Set(try ledger.allRuns().map(\.record.run)) : []
        for index in 0..<launch.jobs {
            var assigned = options
            if launch.workerTree == .clone { assigned.maxRuns = options.maxRuns.map { Self.share(of: index, runs: $0, jobs: launch.jobs) } }
            workers.append(try startWorker(index, options: assigned, launch: launch))
        }
        events.notice(Self.workersStarted(workers, launcher: launcher, directory: state.workersDirectory))
        var forwarded = 0
        var lastProgress = Date.distantPast
        while workers.contains(where: { !$0.isDone }) {
            let interrupts = Int(cps_interrupt_count())
            if interrupts > forwarded {
                for worker in workers where worker.end == nil { launcher.signal(worker.launched, cps_last_interrupt_signal()) }
                forwarded = interrupts
            }
            SupervisedWorker.relayOutput(of: workers, waitingAtMost: 200, events: events)
            for (position, worker) in workers.enumerated() where !worker.isDone {
                worker.poll(launcher)
                // Output still open two seconds after the end is held by a stray child: let it go.
                guard worker.end != nil, let ended = worker.ended,
                      worker.outputs.allSatisfy(\.isFile) || Date().timeIntervalSince(ended) > 2 else { continue }
                try finish(worker, into: &tally, interrupted: forwarded > 0)
                if let again = try submitAgain(worker, among: workers, options: options, launch: launch, since: supervisionStarted,
                                               besides: runsBefore, interrupted: forwarded > 0, tally: tally) {
                    workers[position] = again
                }
            }
            if Date().timeIntervalSince(lastProgress) >= 1 {
                lastProgress = Date()
                events.workersProgress(workers.filter { $0.end == nil }.compactMap { worker in
                    WorkerState.read(state.workerStatePath(worker.index)).map(worker.showingJob)
                })
            }
        }
        if launch.workerTree == .clone, let remote = options.sync {
            _ = sync(from: remote)
            for (status, count) in try runsRecorded(besides: runsBefore) { tally.add(status, count: count) }
        }
    }

    /// `worker`, which ended, submitted again when `resubmits` allows it and runs are left (in
    /// clones: what `cloneRunsLeft` leaves); nil when not. `started`: when supervision started.
    private func submitAgain(_ worker: SupervisedWorker, among workers: [SupervisedWorker], options: LoopOptions, launch: WorkerLaunch,
                             since started: Date, besides runsBefore: Set<String>, interrupted: Bool,
                             tally: WorkersTally) throws -> SupervisedWorker? {
        let launcher = launch.launcher
        var again = options
        again.maxTime = options.maxTime.map { $0 - Date().timeIntervalSince(started) }
        guard resubmits(worker, launcher: launcher, interrupted: interrupted, tally: tally, timeLeft: again.maxTime) else { return nil }
        if launch.workerTree == .clone {
            again.maxRuns = options.maxRuns.map { cloneRunsLeft(worker, of: workers, maxRuns: $0, jobs: launch.jobs,
                                                                besides: runsBefore, remote: options.sync) }
        }
        guard again.maxRuns != 0 else {
            events.notice("worker \(worker.index): not submitted again: the runs recorded and the other workers' shares use up --max-runs")
            return nil
        }
        let next = try startWorker(worker.index, options: again, launch: launch, submissions: worker.submissions + 1)
        events.notice("worker \(worker.index): submitted again (\(worker.submissions) of \(launcher.resubmissions)) as \(launcher.name) job \(next.launched.id)")
        return next
    }

    /// The runs of this experiment recorded besides those in `known` (the runs of workers in clones, once pulled).
    private func runsRecorded(besides known: Set<String>) throws -> [RunStatus: Int] {
        var counts: [RunStatus: Int] = [:]
        for record in try records(besides: known) { counts[record.status, default: 0] += 1 }
        return counts
    }

    private func records(besides known: Set<String>) throws -> [RunRecord] {
        try ledger.allRuns().map(\.record).filter { $0.experiment == name && !known.contains($0.run) }
    }

    /// Worker `index`'s share of `runs` split among `jobs` workers in clones.
    private static func share(of index: Int, runs: Int, jobs: Int) -> Int {
        runs / jobs + (index < runs % jobs ? 1 : 0)
    }

    /// The runs `worker` in a clone, submitted again, may make: what is left of its share, and no
    /// more than `maxRuns` leaves once the runs recorded on the remote so far and what is left of
    /// the shares of the other workers still going are counted.
    private func cloneRunsLeft(_ worker: SupervisedWorker, of workers: [SupervisedWorker], maxRuns: Int, jobs: Int,
                               besides known: Set<String>, remote: String?) -> Int {
        if let remote { _ = sync(from: remote) }
        let recorded = (try? records(besides: known)) ?? []
        let byWorker = Dictionary(grouping: recorded.compactMap(\.worker), by: { $0 }).mapValues(\.count)
        func shareLeft(_ index: Int) -> Int { max(0, Self.share(of: index, runs: maxRuns, jobs: jobs) - byWorker[index, default: 0]) }
        let others = workers.filter { $0 !== worker && !$0.isDone }.map { shareLeft($0.index) }.reduce(0, +)
        return max(0, min(shareLeft(worker.index), maxRuns - recorded.count - others))
    }

    /// What the loop says once its workers are started (or queued).
    private static func workersStarted(_ workers: [SupervisedWorker], launcher: WorkerLauncher, directory: String) -> String {
        guard !launcher.workersAreChildren else {
            return "\(workers.count) workers started in work trees under \(directory) (git autoresearch status shows them)"
        }
        let jobs = workers.map(\.launched.id).joined(separator: ", ")
        return "\(workers.count) workers submitted to \(launcher.name) (jobs \(jobs)), work trees under \(directory) (git autoresearch status shows them)"
    }

    /// Whether a worker that ended is submitted again: only one its scheduler ended (cancelled,
    /// preempted, killed), while the loop goes on, no worker reached a stopping rule, time is left,
    /// and within the launcher's bound of resubmissions.
    private func resubmits(_ worker: SupervisedWorker, launcher: WorkerLauncher, interrupted: Bool, tally: WorkersTally,
                           timeLeft: Double?) -> Bool {
        guard launcher.resubmissions > 0, worker.wasEndedByScheduler, !interrupted, tally.stops.isEmpty,
              (timeLeft ?? 1) > 0 else { return false }
        guard worker.submissions <= launcher.resubmissions else {
            events.notice("worker \(worker.index): not submitted again: its job was ended \(worker.submissions) times; the others go on")
            return false
        }
        return true
    }

    /// Takes in a worker whose process ended: its runs and why it stopped (from its state file,
    /// else from how its process ended), then settles and removes what it left. The stop of a
    /// worker its scheduler ended (a SIGTERM, so `interrupted`) does not speak for the loop.
    private func finish(_ worker: SupervisedWorker, into tally: inout WorkersTally, interrupted: Bool) throws {
        worker.closeOutputs(events)
        worker.isDone = true
        let reported = WorkerState.read(state.workerStatePath(worker.index))
        for (status, count) in reported?.counts ?? [:] {
            if let status = RunStatus(rawValue: status) { tally.add(status, count: count) }
        }
        if case .lost(let why) = worker.end, !interrupted {
            events.notice("worker \(worker.index): job \(worker.launched.id) was \(why) by the scheduler")
        } else if let stop = reported?.stop.flatMap(StopReason.init(rawValue:)) {
            tally.stops.append(stop)
        } else if worker.inClone, case .exited(let code) = worker.end, let stop = CloneWorker.stopsByExitCode[code] {
            tally.stops.append(stop)
        } else if case .signaled(let signal) = worker.end {
            events.notice("worker \(worker.index) was killed (signal \(signal)); the others go on")
        } else if case .exited(let code) = worker.end, code != 0 {
            events.notice("worker \(worker.index) stopped with an error (exit \(code), see its message above); the others go on")
            tally.stops.append(.workerFailed)
        }
        if let repaired = try removeWorker(worker.index) {
            events.notice("worker \(worker.index): \(repaired)")
            tally.add(.interrupted)
        }
    }

    /// Makes worker `index`'s work tree, writes its options, and has the launcher start it there,
    /// with its environment; `submissions` counts this one.
    private func startWorker(_ index: Int, options: LoopOptions, launch: WorkerLaunch, submissions: Int = 1) throws -> SupervisedWorker {
        // In clone mode the work tree is only the loop's record of the worker, for cleaning up after a killed loop.
        let path = try addWorker(index)
        let inClone = launch.workerTree == .clone
        var assigned = options
        assigned.worker = index
        if !inClone { try StateFile.write(assigned, to: state.workerOptionsPath(index)) }
        // Untracked and ignored files (data sets, virtual environments) exist only in the main work tree.
        var environment = ["AUTORESEARCH_WORKER": String(index), "AUTORESEARCH_MAIN_WORKTREE": root]
        for setting in launch.environment {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            environment[parts[0]] = parts.count > 1 ? parts[1].replacingOccurrences(of: "{worker}", with: String(index)) : ""
        }
        let launcher = launch.launcher
        let job = inClone ? try cloneJob(index, options: options, launch: launch, environment: environment)
            : WorkerJob(index: index, command: launch.command(index, state.workerOptionsPath(index)),
                        directory: path, environment: environment, filesPrefix: state.workerDirectory(index))
        let launched = try launcher.submit(job)
        let worker = SupervisedWorker(index: index, launched: launched, submissions: submissions, inClone: inClone)
        var initial = WorkerState(worker: index, pid: launched.pid ?? 0, worktree: path, step: "starting", since: Date())
        if !launcher.workersAreChildren {
            (initial.step, initial.launcher, initial.job) = (inClone ? "running in its clone" : "queued", launcher.name, launched.id)
        }
        _ = WorkerStateFile(initial, path: state.workerStatePath(index))
        return worker
    }

    /// The job of worker `index` in its own clone of the `--sync` remote (`CloneWorker`): it syncs
    /// through the remote (pushing after every run), and shares no file with this loop.
    private func cloneJob(_ index: Int, options: LoopOptions, launch: WorkerLaunch, environment: [String: String]) throws -> WorkerJob {
        guard let remote = options.sync else {
            throw AutoresearchError("workers in clones need a remote to sync through", hint: "add --sync REMOTE, or use --worker-tree shared")
        }
        var assigned = options
        (assigned.sync, assigned.pushEvery, assigned.pushWhenInterrupted, assigned.workerInClone) = (Workspace.cloneRemote, 1, true, index)
        let script = CloneWorker.script(index: index, program: launch.program, remoteURL: try workspace.remoteURL(remote), experiment: name,
                                        options: String(decoding: try JSONEncoder().encode(assigned), as: UTF8.self),
                                        command: launch.command(index, CloneWorker.optionsFile))
        var environment = environment
        environment["AUTORESEARCH_MAIN_WORKTREE"] = nil
        return WorkerJob(index: index, command: script, directory: "/tmp", environment: environment,
                         filesPrefix: state.workerDirectory(index), sharesFiles: false)
    }

    /// Puts this work tree back on the experiment branch, at its new tip, when nobody changed
    /// tracked files while it was detached at `detachedAt` (untracked files stay, and one in the
    /// way stops the switch); otherwise leaves it detached and says why.
    private func reattachHead(detachedAt: OID) {
        defer { unlink(state.detachedHeadPath) }
        do {
            guard try repository.head() == .detached(detachedAt) else { return }
            let changes = try repository.status().filter { !$0.isUntracked }
            guard changes.isEmpty else {
                events.notice("the work tree changed while the workers ran (\(Workspace.listPaths(changes.map(\.path)))): HEAD stays detached at \(detachedAt.short) so nothing is lost; the best is on autoresearch/\(name)")
                return
            }
            try switchToBranch(refs.branch)
        } catch {
            events.notice("could not put HEAD back on autoresearch/\(name): \(error); run 'git switch autoresearch/\(name)'")
        }
    }
}

/// A worker the loop supervises: the launcher's handle, where its job is, and the read ends of
/// its stdout and stderr (pipes of a child process, or files a scheduler's job appends to).
private final class SupervisedWorker {
    struct Output {
        let fd: Int32
        let isError: Bool
        /// A file read to its end each time, not a pipe waited on.
        let isFile: Bool
        var lines = LineSplitter(maxLineBytes: GroupProcess.maxLineBytes, tailLines: 0)
    }

    let index: Int
    let launched: LaunchedWorker
    /// How many times this worker was submitted, this time included.
    let submissions: Int
    /// Works in its own clone (`--worker-tree clone`).
    let inClone: Bool
    /// The outputs still open.
    var outputs: [Output]
    /// Where its job is, as the launcher last said.
    private(set) var jobState = WorkerJobState.queued(reason: "submitted")
    /// When its end was seen.
    private(set) var ended: Date?
    private var lastPoll = Date.distantPast
    /// Ended, output passed on, work tree settled and removed.
    var isDone = false

    init(index: Int, launched: LaunchedWorker, submissions: Int, inClone: Bool) {
        self.index = index
        self.launched = launched
        self.submissions = submissions
        self.inClone = inClone
        switch launched.output {
        case .pipes(let output, let errors):
            outputs = [Output(fd: output, isError: false, isFile: false), Output(fd: errors, isError: true, isFile: false)]
        case .files(let output, let errors):
            outputs = [(output, false), (errors, true)].compactMap { path, isError in
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                return fd >= 0 ? Output(fd: fd, isError: isError, isFile: true) : nil
            }
        }
    }

    /// How it ended, once it did.
    var end: WorkerEnd? {
        if case .ended(let end) = jobState { return end }
        return nil
    }

    /// True when something else than the worker ended it: its scheduler, a signal.
    var wasEndedByScheduler: Bool {
        switch end {
        case .lost?, .signaled?: return true
        default: return false
        }
    }

    /// Asks the launcher where the job is, at most every `pollInterval`.
    func poll(_ launcher: WorkerLauncher) {
        guard end == nil, Date().timeIntervalSince(lastPoll) >= launcher.pollInterval else { return }
        lastPoll = Date()
        jobState = launcher.state(of: launched)
        if end != nil { ended = Date() }
    }

    /// `state`, from the worker's file, with what the loop knows of its job: queued, or on which node.
    func showingJob(_ state: WorkerState) -> WorkerState {
        var shown = state
        switch jobState {
        case .queued(let reason) where state.launcher != nil: shown.step = "queued (\(reason))"
        case .running(let node?): shown.node = node
        default: break
        }
        return shown
    }

    /// Waits up to `milliseconds` for output of any worker and passes every complete line on.
    static func relayOutput(of workers: [SupervisedWorker], waitingAtMost milliseconds: Int32, events: RunEvents) {
        var polled: [pollfd] = [], owners: [(worker: SupervisedWorker, output: Int)] = []
        for worker in workers {
            for (position, output) in worker.outputs.enumerated() where !output.isFile {
                polled.append(pollfd(fd: output.fd, events: Int16(POLLIN), revents: 0))
                owners.append((worker, position))
            }
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var finished: [(worker: SupervisedWorker, fd: Int32)] = []
        if polled.isEmpty {
            usleep(UInt32(milliseconds) * 1000)
        } else if Glibc.poll(&polled, nfds_t(polled.count), milliseconds) > 0 {
            for (entry, owner) in zip(polled, owners) where entry.revents != 0 {
                let count = read(entry.fd, &buffer, buffer.count)
                guard count > 0 else {
                    finished.append((owner.worker, entry.fd))
                    continue
                }
                let isError = owner.worker.outputs[owner.output].isError
                owner.worker.outputs[owner.output].lines.feed(buffer[0..<count]) { events.workerOutput($0, isError) }
            }
        }
        for worker in workers { worker.readFiles(into: &buffer, events) }
        for (worker, fd) in finished { worker.close(fd, events) }
    }

    /// Passes on what was appended to its output files since the last time.
    private func readFiles(into buffer: inout [UInt8], _ events: RunEvents) {
        for position in outputs.indices where outputs[position].isFile {
            let isError = outputs[position].isError
            while case let count = read(outputs[position].fd, &buffer, buffer.count), count > 0 {
                outputs[position].lines.feed(buffer[0..<count]) { events.workerOutput($0, isError) }
            }
        }
    }

    /// Passes on what is left of every output and closes them.
    func closeOutputs(_ events: RunEvents) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        readFiles(into: &buffer, events)
        for output in outputs { close(output.fd, events) }
    }

    private func close(_ fd: Int32, _ events: RunEvents) {
        guard let position = outputs.firstIndex(where: { $0.fd == fd }) else { return }
        var output = outputs.remove(at: position)
        output.lines.finish { events.workerOutput($0, output.isError) }
        Glibc.close(fd)
    }
}
