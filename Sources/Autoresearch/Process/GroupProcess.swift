import CProcessSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a command run by `GroupProcess` ended.
public enum Termination: Sendable, Equatable {
    /// Exited on its own with this status.
    case exited(Int32)
    /// Killed by a signal it did not get from us.
    case signaled(Int32)
    /// Ran past the hard limit; its process group was stopped.
    case timedOut
    /// The tool was interrupted (SIGINT/SIGTERM); the process group was stopped.
    case interrupted

    /// Decodes a `waitpid` status: `.exited` with the exit code, or `.signaled` with the signal
    /// that ended the process.
    public init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }
}

/// What a finished command left: how it ended, how long it took, what it printed.
public struct CommandResult: Sendable {
    public let termination: Termination
    public let duration: Double
    /// The last lines of output (at most `GroupProcess.tailLines`, each at most 500 characters).
    public let tail: [String]
    /// Bytes of output in total, and whether the log was cut at the limit.
    public let outputBytes: Int
    public let logTruncated: Bool
}

/// Progress while a command runs.
public struct CommandProgress: Sendable {
    public let elapsed: Double
    public let lastLine: String?
}

/// Runs a shell command as the leader of its own session and process group, with its output
/// streamed to a log file (never held whole in memory) and to a line handler, under a hard time
/// limit. At the limit, on interruption, and after the command exits (to reap children it left
/// behind), the whole group gets SIGTERM, a grace period, then SIGKILL. A watchdog process does
/// the same if the tool dies while the command runs.
public enum GroupProcess {
    public static let tailLines = 20
    static let maxLineBytes = 64 << 10

    /// Runs `command` with `/bin/sh -c` in `directory`.
    /// - Parameters:
    ///   - hardLimit: seconds after which the group is stopped and the result is `.timedOut`.
    ///   - grace: seconds between SIGTERM and SIGKILL.
    ///   - logPath: where the output goes (created, or truncated unless `appendToLog`); at most
    ///     `logLimit` bytes of this command's output are kept.
    ///   - onStart: called with the pid (also the process group id) once the command started.
    ///   - onLine: called with each complete line of output (lines longer than 64 KiB are cut).
    ///   - onProgress: called about once a second.
    ///   - isInterrupted: polled several times a second; true stops the group (`.interrupted`).
    public static func run(_ command: String, in directory: String, environment: [String: String],
                           hardLimit: Double, grace: Double, logPath: String, logLimit: Int, appendToLog: Bool = false,
                           onStart: (pid_t) throws -> Void = { _ in },
                           onLine: (Substring) -> Void = { _ in },
                           onProgress: (CommandProgress) -> Void = { _ in },
                           isInterrupted: () -> Bool = { false }) throws -> CommandResult {
        var output = try CommandOutput(logPath: logPath, logLimit: logLimit, append: appendToLog)
        defer { output.closeLog() }
        let started = Date()
        let (pid, readEnd, gate) = try spawnOnPipe(command, in: directory, environment: environment)
        defer { close(readEnd) }
        // If the tool dies (even by SIGKILL), the watchdog stops the group as `supervise` would.
        // The command waits at its gate until then: a kill in between leaves nothing running.
        // Durations go up to 30 days; milliseconds beyond Int32 wait the longest the watchdog can.
        _ = cps_watchdog_guard(pid, Int32(min(grace * 1000, Double(Int32.max))))
        defer { cps_watchdog_release(pid) }
        _ = write(gate, "\n", 1)
        close(gate)
        do {
            try onStart(pid)
        } catch {
            kill(-pid, SIGKILL)
            waitpid(pid, nil, 0)
            throw error
        }
        let exitDescriptor = cps_exit_descriptor(pid)
        defer { if exitDescriptor >= 0 { close(exitDescriptor) } }
        var group = RunningGroup(leader: pid, started: started, hardLimit: hardLimit, grace: grace, exitDescriptor: exitDescriptor)
        supervise(&group, output: &output, from: readEnd, onLine: onLine, onProgress: onProgress, isInterrupted: isInterrupted)
        output.finish(onLine)
        return CommandResult(termination: group.termination, duration: Date().timeIntervalSince(started), tail: output.tail,
                             outputBytes: output.total, logTruncated: output.isTruncated)
    }

    /// Spawns `command` with its stdout and stderr on a new pipe, waiting at a gate; returns its
    /// pid, the pipe's read end and the gate (a line written to it lets the command run).
    private static func spawnOnPipe(_ command: String, in directory: String,
                                    environment: [String: String]) throws -> (pid: pid_t, output: Int32, gate: Int32) {
        let (readEnd, writeEnd) = try makePipe()
        defer { close(writeEnd) }
        let gate: (read: Int32, write: Int32)
        do { gate = try makePipe() } catch { close(readEnd); throw error }
        defer { close(gate.read) }
        do {
            let pid = try spawn(command, in: directory, environment: environment, output: writeEnd, errors: writeEnd, gate: gate.read)
            return (pid, readEnd, gate.write)
        } catch {
            close(readEnd)
            close(gate.write)
            throw error
        }
    }

    /// Reads the group's output into `output` until the leader exited and no member of the group
    /// is left, stopping the group on the way as `RunningGroup.check` decides.
    private static func supervise(_ group: inout RunningGroup, output: inout CommandOutput, from readEnd: Int32,
                                  onLine: (Substring) -> Void, onProgress: (CommandProgress) -> Void,
                                  isInterrupted: () -> Bool) {
        var lastProgress = group.started
        while true {
            let now = Date()
            if group.check(at: now, isInterrupted: isInterrupted) {
                // Nobody in the group can write any more: take what is buffered and finish.
                output.drain(readEnd, onLine)
                return
            }
            if output.isClosed {
                group.waitForLeader(atMost: 100)
            } else {
                output.read(readEnd, waitingAtMost: 100, onLine)
            }
            if now.timeIntervalSince(lastProgress) >= 1 {
                lastProgress = now
                onProgress(CommandProgress(elapsed: now.timeIntervalSince(group.started), lastLine: output.tail.last))
            }
        }
    }

    /// The wait status of child `pid` once it ended, without waiting; nil while it runs.
    static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? status : nil
    }

    /// A pipe whose ends no child inherits, except through the descriptors a spawn hands over.
    /// Close-on-exec from the start: a process spawned by another thread between pipe() and
    /// fcntl() would keep the write end open (evaluations run in parallel in one process in tests).
    static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        let failed = cps_pipe_cloexec(&fds)
        guard failed == 0 else { throw AutoresearchError("cannot create a pipe: \(String(cString: strerror(failed)))") }
        return (fds[0], fds[1])
    }

    /// Starts `/bin/sh -c command` in `directory` as the leader of a new session, with exactly
    /// `environment`, stdin from /dev/null, stdout to `output` and stderr to `errors`; with `gate`,
    /// the command waits for a line from it (`cps_spawn_shell`). Returns its pid.
    static func spawn(_ command: String, in directory: String, environment: [String: String], output: Int32,
                      errors: Int32, gate: Int32 = -1) throws -> pid_t {
        var pid: pid_t = 0
        let environ = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { environ.forEach { free($0) } }
        let error = environ.withUnsafeBufferPointer { cps_spawn_shell(command, directory, $0.baseAddress, output, errors, gate, &pid) }
        guard error == 0 else { throw AutoresearchError("cannot start /bin/sh: \(String(cString: strerror(error)))") }
        return pid
    }

    /// True while process `pid` exists and is not a zombie (an orphan that exited is a zombie
    /// until PID 1 reaps it, which in containers can take long or never happen).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        return ProcessStat(pid: pid).map { !$0.isZombie } ?? true
    }

    /// True while a process of the group is alive. Zombies do not count: orphans that exited wait
    /// for PID 1 to reap them, which in containers can take seconds or never happen.
    static func hasLiveMembers(group: pid_t) -> Bool {
        guard kill(-group, 0) == 0 else { return false }
        return hasLiveMember(of: group) { _ in true } ?? true
    }

    /// True while `group` has live members and is still the group whose leader started at
    /// `startTicks` of boot `bootID`, not a later one given the same id. The leader proves it
    /// while it exists (a zombie too). Once it was reaped, its pid cannot be reused while the
    /// group has members, so members started since the leader are the group's. (A later group
    /// whose leader exited too cannot be told apart; the watchdog stopped the group long before.)
    static func isStillRunning(group: pid_t, startTicks: UInt64, bootID: String) -> Bool {
        guard bootID == ProcessStat.currentBootID else { return false }
        if let leader = ProcessStat(pid: group) {
            return leader.startTicks == startTicks && hasLiveMembers(group: group)
        }
        return hasLiveMember(of: group) { ($0.startTicks ?? 0) >= startTicks } ?? false
    }

    /// Whether a live (not zombie) process of `group` satisfies `condition`; nil when /proc cannot be listed.
    private static func hasLiveMember(of group: pid_t, where condition: (ProcessStat) -> Bool) -> Bool? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        return entries.contains { entry in
            guard entry.first?.isNumber == true, let stat = ProcessStat(entry: entry) else { return false }
            return stat.processGroup == group && !stat.isZombie && condition(stat)
        }
    }
}

/// A running process group and how far stopping it went: on a timeout or interruption, and once
/// the leader exited if it left children behind, the group gets SIGTERM, then after the grace
/// period SIGKILL.
private struct RunningGroup {
    let leader: pid_t
    let started: Date
    let hardLimit: Double
    let grace: Double
    /// Readable once the leader exited (`cps_exit_descriptor`), or -1.
    let exitDescriptor: Int32
    /// The leader's wait status, once it was reaped.
    private var exitStatus: Int32?
    /// Why we stop the group, when we do.
    private var stopReason: Termination?
    private var termSentAt: Date?
    private var killSent = false

    init(leader: pid_t, started: Date, hardLimit: Double, grace: Double, exitDescriptor: Int32) {
        self.leader = leader
        self.started = started
        self.hardLimit = hardLimit
        self.grace = grace
        self.exitDescriptor = exitDescriptor
    }

    /// Waits up to `milliseconds` for the leader to exit, once its output ended: its pipe closes
    /// a moment before it can be reaped. Wakes at the exit where the kernel tells it; after the
    /// leader was reaped (members it left are stopped) or without a descriptor, pauses 5 ms.
    func waitForLeader(atMost milliseconds: Int32) {
        guard exitStatus == nil, exitDescriptor >= 0 else {
            usleep(5_000)
            return
        }
        var poller = pollfd(fd: exitDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&poller, 1, milliseconds)
    }

    /// Reaps the leader if it exited, decides to stop the group at the limit or on interruption,
    /// and sends the signal due. True once the leader exited and no member of the group is alive.
    mutating func check(at now: Date, isInterrupted: () -> Bool) -> Bool {
        if exitStatus == nil { exitStatus = GroupProcess.reap(leader) }
        if exitStatus == nil, stopReason == nil {
            if isInterrupted() {
                stopReason = .interrupted
            } else if now.timeIntervalSince(started) >= hardLimit {
                stopReason = .timedOut
            }
        }
        // While the leader is not reaped it is alive (or our zombie): the group is, with no need to
        // list /proc. Only once it exited are the members it left behind looked for.
        let isAlive = exitStatus == nil || GroupProcess.hasLiveMembers(group: leader)
        signal(isAlive: isAlive, at: now)
        return exitStatus != nil && !isAlive
    }

    /// SIGTERM once the group is to stop or its leader exited leaving children; SIGKILL to what
    /// is still alive a grace period later.
    private mutating func signal(isAlive: Bool, at now: Date) {
        if termSentAt == nil, stopReason != nil || (exitStatus != nil && isAlive) {
            kill(-leader, SIGTERM)
            termSentAt = now
        }
        if let termSentAt, !killSent, isAlive, now.timeIntervalSince(termSentAt) >= grace {
            kill(-leader, SIGKILL)
            killSent = true
        }
    }

    /// How the command ended; valid once `check` returned true.
    var termination: Termination { stopReason ?? Termination(waitStatus: exitStatus!) }
}

/// Where a command's output goes: the first `logLimit` bytes to the log, every line to the
/// line handler and the last ones to the tail.
private struct CommandOutput {
    private let log: Int32
    private let logLimit: Int
    /// Bytes written to the log, and bytes printed in total.
    private var logged = 0
    private(set) var total = 0
    private var lines = LineSplitter(maxLineBytes: GroupProcess.maxLineBytes, tailLines: GroupProcess.tailLines)
    /// True once the pipe reported its end (a member may still run).
    private(set) var isClosed = false
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    /// Opens the log, truncated unless `append`.
    init(logPath: String, logLimit: Int, append: Bool) throws {
        log = open(logPath, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
        guard log >= 0 else { throw AutoresearchError("cannot write the log \(logPath): \(String(cString: strerror(errno)))") }
        self.logLimit = logLimit
    }

    var tail: [String] { lines.tail }
    var isTruncated: Bool { logged < total }

    /// Waits up to `milliseconds` for output on `fd` and takes what came (not after the end of
    /// the pipe: see `isClosed`).
    mutating func read(_ fd: Int32, waitingAtMost milliseconds: Int32, _ onLine: (Substring) -> Void) {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, milliseconds) > 0 else { return }
        let count = Glibc.read(fd, &buffer, buffer.count)
        if count > 0 {
            consume(buffer[0..<count], onLine)
        } else if count == 0 {
            isClosed = true
        }
    }

    /// Takes what is left in `fd` without blocking (a process outside the group may hold it open).
    mutating func drain(_ fd: Int32, _ onLine: (Substring) -> Void) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            guard count > 0 else { return }
            consume(buffer[0..<count], onLine)
        }
    }

    private mutating func consume(_ chunk: ArraySlice<UInt8>, _ onLine: (Substring) -> Void) {
        total += chunk.count
        let room = max(0, logLimit - logged)
        if room > 0 {
            let kept = chunk.prefix(room)
            kept.withUnsafeBytes { _ = write(log, $0.baseAddress, $0.count) }
            logged += kept.count
        }
        lines.feed(chunk, onLine)
    }

    /// Passes on a last line without newline, and notes in the log where it was cut.
    mutating func finish(_ onLine: (Substring) -> Void) {
        lines.finish(onLine)
        if isTruncated {
            let note = "\n[git-autoresearch: output cut at \(logLimit) bytes; \(total) bytes were printed]\n"
            _ = note.withCString { write(log, $0, strlen($0)) }
        }
    }

    func closeLog() { close(log) }
}

/// Splits a byte stream into lines, bounding the memory a line without newline can take.
struct LineSplitter {
    let maxLineBytes: Int
    let tailLines: Int
    private(set) var tail: [String] = []
    private var partial: [UInt8] = []

    init(maxLineBytes: Int, tailLines: Int) {
        self.maxLineBytes = maxLineBytes
        self.tailLines = tailLines
    }

    mutating func feed(_ chunk: ArraySlice<UInt8>, _ onLine: (Substring) -> Void) {
        var rest = chunk
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            append(rest[rest.startIndex..<newline])
            emit(onLine)
            rest = rest[(newline + 1)...]
        }
        append(rest)
    }

    mutating func finish(_ onLine: (Substring) -> Void) {
        if !partial.isEmpty { emit(onLine) }
    }

    private mutating func append(_ bytes: ArraySlice<UInt8>) {
        let room = maxLineBytes - partial.count
        if room > 0 { partial.append(contentsOf: bytes.prefix(room)) }
    }

    private mutating func emit(_ onLine: (Substring) -> Void) {
        if partial.last == UInt8(ascii: "\r") { partial.removeLast() }
        let text = String(decoding: partial, as: UTF8.self)
        partial.removeAll(keepingCapacity: true)
        onLine(text[...])
        // Most lines are short: cut by characters only the long ones.
        tail.append(text.utf8.count <= 500 ? text : String(text.prefix(500)))
        if tail.count > tailLines { tail.removeFirst() }
    }
}
