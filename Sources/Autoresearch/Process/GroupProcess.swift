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
        let log = open(logPath, O_WRONLY | O_CREAT | O_CLOEXEC | (appendToLog ? O_APPEND : O_TRUNC), 0o644)
        guard log >= 0 else { throw AutoresearchError("cannot write the log \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(log) }
        let (readEnd, writeEnd) = try makePipe()
        defer { close(readEnd) }
        let started = Date()
        let spawned = Result { try spawn(command, in: directory, environment: environment, output: writeEnd, errors: writeEnd) }
        close(writeEnd)
        let pid = try spawned.get()
        // If the tool dies (even by SIGKILL), the watchdog stops the group as the loop below would.
        var watchdog: pid_t = 0, release: Int32 = -1
        if cps_start_watchdog(pid, Int32(grace * 1000), &watchdog, &release) != 0 { watchdog = 0 }
        defer {
            if watchdog > 0 {
                _ = write(release, "\n", 1)
                close(release)
                waitpid(watchdog, nil, 0)
            }
        }
        do {
            try onStart(pid)
        } catch {
            kill(-pid, SIGKILL)
            waitpid(pid, nil, 0)
            throw error
        }

        var lines = LineSplitter(maxLineBytes: maxLineBytes, tailLines: tailLines)
        var logged = 0, total = 0
        var exitStatus: Int32?
        var stopReason: Termination?
        var termSentAt: Date?
        var killSent = false
        var outputClosed = false
        var lastProgress = started
        var buffer = [UInt8](repeating: 0, count: 64 << 10)

        while true {
            let now = Date()
            let elapsed = now.timeIntervalSince(started)
            if exitStatus == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { exitStatus = status }
            }
            if exitStatus == nil, stopReason == nil {
                if isInterrupted() { stopReason = .interrupted } else if elapsed >= hardLimit { stopReason = .timedOut }
            }
            let groupAlive = hasLiveMembers(group: pid)
            // Stop the group on a timeout or interruption, and once the leader exited if it left children.
            if termSentAt == nil, stopReason != nil || (exitStatus != nil && groupAlive) {
                kill(-pid, SIGTERM)
                termSentAt = now
            }
            if let termSentAt, !killSent, groupAlive, now.timeIntervalSince(termSentAt) >= grace {
                kill(-pid, SIGKILL)
                killSent = true
            }
            if exitStatus != nil, !groupAlive {
                // Nobody in the group can write any more: take what is buffered and finish.
                drain(readEnd, &buffer) { consume($0, log, logLimit, &logged, &total, &lines, onLine) }
                break
            }
            if outputClosed {
                usleep(5_000)
            } else {
                var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                if poll(&poller, 1, 100) > 0 {
                    let count = read(readEnd, &buffer, buffer.count)
                    if count > 0 {
                        consume(buffer[0..<count], log, logLimit, &logged, &total, &lines, onLine)
                    } else if count == 0 {
                        outputClosed = true
                    }
                }
            }
            if now.timeIntervalSince(lastProgress) >= 1 {
                lastProgress = now
                onProgress(CommandProgress(elapsed: elapsed, lastLine: lines.tail.last))
            }
        }
        lines.finish(onLine)
        let duration = Date().timeIntervalSince(started)
        if logged < total {
            let note = "\n[git-autoresearch: output cut at \(logLimit) bytes; \(total) bytes were printed]\n"
            _ = note.withCString { write(log, $0, strlen($0)) }
        }
        let termination: Termination
        if let stopReason {
            termination = stopReason
        } else {
            let status = exitStatus!
            let signal = status & 0x7f
            termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        }
        return CommandResult(termination: termination, duration: duration, tail: lines.tail,
                             outputBytes: total, logTruncated: logged < total)
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
    /// `environment`, stdin from /dev/null, stdout to `output` and stderr to `errors`. Returns its pid.
    static func spawn(_ command: String, in directory: String, environment: [String: String], output: Int32,
                      errors: Int32) throws -> pid_t {
        var pid: pid_t = 0
        let environ = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { environ.forEach { free($0) } }
        let error = environ.withUnsafeBufferPointer { cps_spawn_shell(command, directory, $0.baseAddress, output, errors, &pid) }
        guard error == 0 else { throw AutoresearchError("cannot start /bin/sh: \(String(cString: strerror(error)))") }
        return pid
    }

    /// True while process `pid` exists and is not a zombie (an orphan that exited is a zombie
    /// until PID 1 reaps it, which in containers can take long or never happen).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return !isZombie(stat)
    }

    /// The state field of a `/proc/PID/stat` line says zombie or dead.
    private static func isZombie(_ stat: String) -> Bool {
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state == "Z" || state == "X"
    }

    /// True while a process of the group is alive. Zombies do not count: orphans that exited wait
    /// for PID 1 to reap them, which in containers can take seconds or never happen.
    static func hasLiveMembers(group: pid_t) -> Bool {
        guard kill(-group, 0) == 0 else { return false }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return true }
        for entry in entries where entry.first?.isNumber == true {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After "pid (comm)": state, ppid, pgrp, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, pid_t(fields[2]) == group, !isZombie(stat) { return true }
        }
        return false
    }

    /// Reads what is left in `fd` without blocking (a process outside the group may hold it open).
    private static func drain(_ fd: Int32, _ buffer: inout [UInt8], _ body: (ArraySlice<UInt8>) -> Void) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        while true {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return }
            body(buffer[0..<count])
        }
    }

    private static func consume(_ chunk: ArraySlice<UInt8>, _ log: Int32, _ logLimit: Int,
                                _ logged: inout Int, _ total: inout Int, _ lines: inout LineSplitter,
                                _ onLine: (Substring) -> Void) {
        total += chunk.count
        let room = max(0, logLimit - logged)
        if room > 0 {
            let kept = chunk.prefix(room)
            kept.withUnsafeBytes { _ = write(log, $0.baseAddress, $0.count) }
            logged += kept.count
        }
        lines.feed(chunk, onLine)
    }
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
