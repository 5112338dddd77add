@testable import Autoresearch
import CProcessSupport
import Foundation
import Testing
import Fixtures

@Suite(.ownThreads) struct GroupProcessTests {
    let scratch = ScratchDirectory(prefix: "group")
    var directory: String { scratch.path }

    func run(_ command: String, limit: Double = 10, grace: Double = 0.5, logLimit: Int = 1 << 20,
             interrupted: @escaping () -> Bool = { false }, lines: ((Substring) -> Void)? = nil) throws -> CommandResult {
        try GroupProcess.run(command, in: directory, environment: ["PATH": "/usr/bin:/bin", "GREETING": "hi"],
                             hardLimit: limit, grace: grace, logPath: directory + "/out.log", logLimit: logLimit,
                             onLine: lines ?? { _ in }, isInterrupted: interrupted)
    }

    @Test func reportsExitStatusOutputAndEnvironment() throws {
        var seen: [String] = []
        let result = try run("echo $GREETING; pwd; echo err >&2; exit 3", lines: { seen.append(String($0)) })
        #expect(result.termination == .exited(3))
        #expect(seen == ["hi", directory, "err"])
        #expect(result.tail == seen)
        #expect(try String(contentsOfFile: directory + "/out.log", encoding: .utf8) == "hi\n\(directory)\nerr\n")
    }

    @Test func timeoutKillsTheWholeGroupIncludingChildrenThatIgnoreSIGTERM() throws {
        let started = Date()
        let result = try run("""
            sh -c 'trap "" TERM; echo $$ > child.pid; while :; do sleep 0.1; done' &
            trap '' TERM; while :; do sleep 0.1; done
            """, limit: 1, grace: 0.5)
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.termination == .timedOut)
        #expect(elapsed < 10, "stopped in \(elapsed)s")
        let child = try #require(Int32(try String(contentsOfFile: directory + "/child.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        usleep(100_000)
        #expect(!processExists(child), "the SIGTERM-ignoring child \(child) must be gone")
    }

    /// A tool killed between starting the command and its watchdog leaves nothing running: the
    /// command waits at its gate, and a gate closed without a line means it never runs.
    @Test func aGatedCommandRunsOnlyOnceItsGateOpens() throws {
        for opens in [false, true] {
            let output = try GroupProcess.makePipe(), gate = try GroupProcess.makePipe()
            let pid = try GroupProcess.spawn("touch ran; if [ -e /proc/$$/fd/3 ]; then echo fd3 open; else echo fd3 closed; fi", in: directory,
                                             environment: ["PATH": "/usr/bin:/bin"], output: output.write, errors: output.write,
                                             gate: gate.read)
            close(output.write)
            close(gate.read)
            usleep(200_000)
            #expect(!FileManager.default.fileExists(atPath: directory + "/ran"), "ran before its gate opened")
            if opens { _ = write(gate.write, "\n", 1) }
            close(gate.write)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let printed = FileHandle(fileDescriptor: output.read, closeOnDealloc: true).readDataToEndOfFile()
            #expect(FileManager.default.fileExists(atPath: directory + "/ran") == opens)
            // The command itself does not inherit the gate.
            #expect(String(decoding: printed, as: UTF8.self) == (opens ? "fd3 closed\n" : ""))
            try? FileManager.default.removeItem(atPath: directory + "/ran")
        }
    }

    @Test func childrenLeftBehindAfterTheCommandExitsAreStopped() throws {
        let result = try run("sleep 30 & echo $! > bg.pid; echo done")
        #expect(result.termination == .exited(0))
        #expect(result.duration < 5)
        let child = try #require(Int32(try String(contentsOfFile: directory + "/bg.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!processExists(child))
    }

    @Test func hugeOutputIsCappedInTheLogButStillScanned() throws {
        var last: String?
        // 50 MB through a pipeline on a loaded 2-core machine (the suite runs tests side by side):
        // the limit is there to end a hang, not to time the scan (make bench does that).
        let result = try run("head -c 50000000 /dev/zero | tr '\\0' 'x' | fold -w 1000; echo; echo 'loss: 0.5'",
                             limit: 120, logLimit: 100_000, lines: { last = String($0) })
        #expect(result.termination == .exited(0))
        #expect(result.outputBytes > 50_000_000)
        #expect(result.logTruncated)
        #expect(last == "loss: 0.5")
        let logSize = try FileManager.default.attributesOfItem(atPath: directory + "/out.log")[.size] as? Int ?? 0
        #expect(logSize < 100_200)
    }

    @Test func aLineWithoutNewlineDoesNotGrowWithoutBound() throws {
        var longest = 0
        let result = try run("head -c 10000000 /dev/zero | tr '\\0' 'y'", limit: 60, logLimit: 4096, lines: { longest = max(longest, $0.utf8.count) })
        #expect(result.termination == .exited(0))
        #expect(longest <= 64 << 10)
    }

    @Test func interruptionStopsTheGroup() throws {
        let started = Date()
        let result = try run("sleep 30", interrupted: { Date().timeIntervalSince(started) > 0.5 })
        #expect(result.termination == .interrupted)
        #expect(result.duration < 15, "sleep 30 must be stopped, not waited for")
    }

    @Test func aCommandKilledByASignalIsReportedAsSuch() throws {
        let result = try run("kill -9 $$")
        #expect(result.termination == .signaled(9))
    }
}

/// The watchdog: one per process, told of each command's group, stopping the groups it still
/// guards when the process that told it is gone.
@Suite(.ownThreads, .serialized) struct WatchdogTests {
    @Test func oneWatchdogServesEveryCommandAndAnotherReplacesOneThatWasKilled() throws {
        let scratch = ScratchDirectory(prefix: "watchdog")
        let directory = scratch.path
        defer { withExtendedLifetime(scratch) {} }
        func runCommand() throws {
            let result = try GroupProcess.run("echo ok", in: directory, environment: ["PATH": "/usr/bin:/bin"], hardLimit: 10, grace: 0.5,
                                              logPath: directory + "/out.log", logLimit: 1 << 20)
            #expect(result.termination == .exited(0))
        }
        try runCommand()
        let first = cps_watchdog_pid()
        #expect(first > 0 && processExists(first))
        // In its own process group: a Ctrl-C at the terminal does not reach it.
        #expect(getpgid(first) == first)
        try runCommand()
        try runCommand()
        #expect(cps_watchdog_pid() == first, "one watchdog for every command of the process")
        kill(first, SIGKILL)
        #expect(waitUntil(seconds: 5) { !processExists(first) })
        try runCommand()
        let second = cps_watchdog_pid()
        #expect(second > 0 && second != first && processExists(second), "a killed watchdog is replaced at the next command")
    }

    /// A watchdog that stops reading (SIGSTOP) does not stop the tool once its socket is full:
    /// it is replaced.
    @Test func aWatchdogThatStoppedReadingIsReplacedNotWaitedFor() throws {
        let unusedGroup: pid_t = 4_194_301  // beyond the default pid_max: never a real group
        #expect(cps_watchdog_guard(unusedGroup, 100) == 0)
        cps_watchdog_release(unusedGroup)
        let stopped = cps_watchdog_pid()
        try #require(stopped > 0)
        kill(stopped, SIGSTOP)
        defer { kill(stopped, SIGCONT) }
        // Far more than a socket's buffer holds (two lines of about 20 bytes per command), on a
        // thread of its own: blocked, it is let go after 30 s by waking the watchdog.
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            for _ in 0..<40_000 {
                _ = cps_watchdog_guard(unusedGroup, 100)
                cps_watchdog_release(unusedGroup)
            }
            finished.signal()
        }
        let unblocked = finished.wait(timeout: .now() + 30) == .success
        if !unblocked {
            kill(stopped, SIGCONT)
            finished.wait()
        }
        #expect(unblocked, "the commands waited for a stopped watchdog")
        #expect(cps_watchdog_pid() != stopped)
        #expect(!processExists(stopped), "the stopped watchdog was ended and reaped")
    }

    /// The script itself, fed as the tool feeds it: at the end of its input it stops the groups
    /// it guards (SIGKILL for one that ignores SIGTERM, after the grace), and no released one.
    @Test func atTheEndOfItsInputTheWatchdogStopsTheGroupsItGuardsAndNoOther() throws {
        func startGroup(ignoringTerm: Bool) throws -> pid_t {
            let output = try GroupProcess.makePipe()
            defer { close(output.read); close(output.write) }
            return try GroupProcess.spawn(ignoringTerm ? "trap '' TERM; while :; do sleep 0.05; done" : "sleep 60", in: "/",
                                          environment: ["PATH": "/usr/bin:/bin"], output: output.write, errors: output.write)
        }
        let stubborn = try startGroup(ignoringTerm: true), plain = try startGroup(ignoringTerm: false), released = try startGroup(ignoringTerm: false)
        defer { for group in [stubborn, plain, released] { kill(-group, SIGKILL); waitpid(group, nil, 0) } }
        let input = Pipe()
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = ["-c", String(cString: cps_watchdog_script()), "autoresearch-watchdog"]
        watchdog.standardInput = input
        try watchdog.run()
        // Grace 0.3 s for the stubborn group (7 steps of 50 ms).
        input.fileHandleForWriting.write(Data("guard \(stubborn) 7\nguard \(plain) 100\nguard \(released) 100\nrelease \(released)\n".utf8))
        usleep(200_000)
        #expect([stubborn, plain, released].allSatisfy(processExists), "nothing is stopped while the input is open")
        try input.fileHandleForWriting.close()
        // Reaped here as they end (the groups are this process's children, so zombies until then),
        // within 3 s though the grace of `plain` is 5 s: it goes at the SIGTERM.
        for group in [stubborn, plain] {
            #expect(waitUntil(seconds: 3) { GroupProcess.reap(group) != nil }, "guarded group \(group) is stopped")
        }
        watchdog.waitUntilExit()
        #expect(processExists(released), "a released group is left alone")
    }
}
