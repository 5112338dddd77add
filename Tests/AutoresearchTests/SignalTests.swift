import Foundation
import Testing
import Fixtures

/// A shell's job control in a new terminal (a pty), in python: the session leader starts the
/// command as the terminal's foreground job, in a process group of its own, and passes a SIGHUP
/// on to it as a shell does. Once the started file exists and a random moment up to MAX_DELAY
/// seconds passed, `int` sends SIGINT to that group (Ctrl-C) and `hangup` closes the terminal.
/// Prints the job's exit status (128 + signal when killed).
private let terminalJobScript = """
import os, pty, random, select, signal, sys, time

mode, started, max_delay, status_file = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
command = sys.argv[5:]

def run_foreground_job():
    go_read, go_write = os.pipe()
    job = os.fork()
    if job == 0:
        os.setpgid(0, 0)
        os.read(go_read, 1)
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        os.execvp(command[0], command)
    os.setpgid(job, job)
    os.tcsetpgrp(0, job)
    os.write(go_write, b"go")
    signal.signal(signal.SIGHUP, lambda *_: os.killpg(job, signal.SIGHUP))
    _, status = os.waitpid(job, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    with open(status_file, "w") as out:
        out.write(str(code))
    os._exit(0)

# Reads what the terminal prints for `seconds`; returns None as soon as it closed.
def drain(master, seconds):
    deadline = time.time() + seconds
    while master is not None and time.time() < deadline:
        if select.select([master], [], [], max(0, deadline - time.time()))[0]:
            try:
                if not os.read(master, 4096):
                    return None
            except OSError:
                return None
    return master

def drain_and_wait(master, seconds):
    deadline = time.time() + seconds
    master = drain(master, seconds)
    time.sleep(max(0, deadline - time.time()))
    return master

leader, master = pty.fork()
if leader == 0:
    run_foreground_job()
deadline = time.time() + 30
while not os.path.exists(started) and time.time() < deadline:
    master = drain_and_wait(master, 0.01)
master = drain_and_wait(master, random.uniform(0, max_delay))
if mode == "int":
    os.killpg(os.tcgetpgrp(master), signal.SIGINT)
else:
    os.close(master)
    master = None
while master is not None:
    master = drain(master, 1)
os.waitpid(leader, 0)
print(open(status_file).read())
"""

/// A repository with experiment `s` whose evaluator writes `started.flag`, then sleeps 5 s;
/// its baseline is measured. Changes to `change.txt` are candidates.
private func slowEvaluatorRepository() throws -> TempRepository {
    let repo = try TempRepository()
    try repo.commitFiles(["change.txt": "0\n", ".gitignore": "*.flag\n"], message: "project")
    let evaluator = "touch started.flag; [ -e fast.flag ] || sleep 5; echo 'score: 1'"
    let output = try Tool.run(["init", "--name", "s", "--eval", evaluator, "--metric", "score",
                               "--budget", "10s", "--timeout", "20s", "--grace", "300ms"], in: repo)
    #expect(output.status == 0, "\(output.stderr)")
    try repo.write("fast.flag", "")
    #expect(try Tool.run(["run"], in: repo).status == 0)
    unlink(repo.path + "/fast.flag")
    unlink(repo.path + "/started.flag")
    return repo
}

extension TempRepository {
    /// The blobs of the notes holding records, read with the git CLI.
    func recordNotes() throws -> [String] {
        try git(["notes", "--ref", "autoresearch", "list"]).split(separator: "\n").map { String($0.split(separator: " ")[0]) }
    }

    /// The statuses of every record.
    func recordedStatuses() throws -> [String] {
        try recordNotes().flatMap { blob in
            try git(["cat-file", "-p", blob]).split(whereSeparator: \.isWhitespace)
                .filter { $0.hasPrefix("status=") }.map { String($0.dropFirst("status=".count)) }
        }
    }

    var markerPath: String { path + "/.git/autoresearch/s/iteration" }

    /// The marker of an unfinished iteration, as JSON; nil when there is none.
    func readMarker() -> [String: Any]? {
        FileManager.default.contents(atPath: markerPath).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    func writeMarker(_ marker: [String: Any]) throws {
        try JSONSerialization.data(withJSONObject: marker).write(to: URL(fileURLWithPath: markerPath))
    }
}

/// Interrupts `git [gitOptions] autoresearch run` in a terminal `trials` times during the
/// evaluation; after each, expects one more record, a clean work tree at the best commit, and no
/// marker; at the end, that each of them says `interrupted`.
private func interruptThroughGit(mode: String, trials: Int, gitOptions: [String] = [], environment: [String: String] = [:]) throws {
    let repo = try slowEvaluatorRepository()
    let best = try repo.gitLine("rev-parse", "HEAD")
    let script = repo.path + "/.git/terminal-job.py"
    try terminalJobScript.write(toFile: script, atomically: true, encoding: .utf8)
    let binDirectory = URL(fileURLWithPath: Tool.path).deletingLastPathComponent().path
    var env = environment
    env["PATH"] = binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    let baseline = try repo.recordNotes().count
    for trial in 1...trials {
        try repo.write("change.txt", "\(trial)\n")
        unlink(repo.path + "/started.flag")
        let job = try runProgram("/usr/bin/python3", [script, mode, repo.path + "/started.flag", "0.8", repo.path + "/.git/job-status",
                                                  "git"] + gitOptions + ["autoresearch", "run"], in: repo.path, environment: env)
        #expect(job.status == 0, "trial \(trial): \(job.stderr)")
        #expect(try repo.recordNotes().count == baseline + trial, "trial \(trial): the tool under git ended with \(job.stdout)")
        #expect(try repo.gitLine("status", "--porcelain") == "", "trial \(trial)")
        #expect(try repo.gitLine("rev-parse", "HEAD") == best, "trial \(trial)")
        #expect(!FileManager.default.fileExists(atPath: repo.markerPath), "trial \(trial)")
    }
    #expect(try repo.recordedStatuses().sorted() == Array(repeating: "interrupted", count: trials) + ["keep"])
}

/// Starts a run of `scenarioRepository`'s experiment whose evaluator hangs, after the baseline (and
/// `newFiles` written, new files of the change);
/// returns once the marker names the evaluation's process group and when it started.
private func startHangingRun(in repo: TempRepository, newFiles: [String: String] = [:]) throws -> (tool: ChildProcess, child: pid_t) {
    #expect(try Tool.run(["run"], in: repo).status == 0)
    for (path, content) in newFiles { try repo.write(path, content) }
    try repo.write("candidate.txt", "hang\n")
    let tool = try Tool.start(["run"], in: repo, environment: ["PIDFILE": repo.path + "/child.pid"])
    let child = try #require(repo.waitForPid("child.pid"))
    #expect(waitUntil(seconds: 5) { repo.readMarker()?["processStartTicks"] != nil && repo.readMarker()?["bootID"] != nil })
    return (tool, child)
}

/// Starts `setsid sleep 30`: a live process group that is not the tool's. Returns its id.
private func unrelatedProcessGroup() throws -> pid_t {
    let output = try runProgram("/bin/sh", ["-c", "setsid sleep 30 >/dev/null 2>&1 & echo $!"], in: "/")
    return try #require(pid_t(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
}

@Suite(.serialized, .ownThreads) struct SignalTests {
    @Test func ctrlCThroughGitsWrapperIsRecordedAsInterruptedEveryTime() throws {
        try interruptThroughGit(mode: "int", trials: 30)
    }

    @Test func closingTheTerminalRecordsTheRunAsInterrupted() throws {
        try interruptThroughGit(mode: "hangup", trials: 3)
    }

    @Test func ctrlCWithGitsPagerRecordsTheRunAsInterrupted() throws {
        // `cat` dies of the Ctrl-C: the tool's stdout becomes a broken pipe.
        try interruptThroughGit(mode: "int", trials: 3, gitOptions: ["-p"], environment: ["GIT_PAGER": "cat"])
    }

    @Test(arguments: [[SIGINT, SIGINT], [SIGHUP], [SIGTERM, SIGHUP]])
    func signalsAtOnceAreOneInterruption(signals: [Int32]) throws {
        let repo = try slowEvaluatorRepository()
        try repo.write("change.txt", "1\n")
        let tool = try Tool.start(["run"], in: repo)
        #expect(waitUntil(seconds: 10) { repo.exists("started.flag") })
        for signal in signals { kill(tool.pid, signal) }
        #expect(tool.wait() == 130)
        #expect(try repo.recordedStatuses().filter { $0 == "interrupted" }.count == 1)
        #expect(try repo.gitLine("status", "--porcelain") == "")
        #expect(!FileManager.default.fileExists(atPath: repo.markerPath))
    }

    @Test(arguments: [true, false])
    func repairLeavesAnUnrelatedProcessGroupAlone(markerHasStartTime: Bool) throws {
        let repo = try scenarioRepository(timeout: 60)
        let tool = try startHangingRun(in: repo).tool
        kill(tool.pid, SIGKILL)
        tool.wait()
        let group = try unrelatedProcessGroup()
        defer { kill(group, SIGKILL) }
        var marker = try #require(repo.readMarker())
        marker["processGroup"] = group
        if !markerHasStartTime {
            marker["processStartTicks"] = nil
            marker["bootID"] = nil
        }
        try repo.writeMarker(marker)
        let status = try Tool.run(["status"], in: repo)
        #expect(status.stderr.contains("repaired an unfinished run"))
        #expect(status.stderr.contains("process group \(group) left alone"), "\(status.stderr)")
        #expect(processExists(group))
        #expect(try repo.recordedStatuses().contains("interrupted"))
        #expect(!FileManager.default.fileExists(atPath: repo.markerPath))
    }

    @Test func repairKillsTheEvaluatorAToolKilledWithSignal9LeftBehind() throws {
        let repo = try scenarioRepository(timeout: 60)
        let (tool, child) = try startHangingRun(in: repo, newFiles: ["notes-of-mine.txt": "my new file\n"])
        // Without its watchdog, the evaluation outlives the tool.
        let watchdog = try runProgram("/usr/bin/pgrep", ["-P", String(tool.pid), "-f", "autoresearch-watchdog"], in: "/").stdout
        kill(try #require(pid_t(watchdog.trimmingCharacters(in: .whitespacesAndNewlines))), SIGKILL)
        kill(tool.pid, SIGKILL)
        tool.wait()
        usleep(300_000)
        #expect(processExists(child))
        let status = try Tool.run(["status"], in: repo)
        #expect(status.stderr.contains("repaired an unfinished run") && !status.stderr.contains("left alone"), "\(status.stderr)")
        #expect(waitUntil(seconds: 3) { !processExists(child) })
        // The run took the new file as part of the change; the reset took it from the work tree,
        // and the repair says how to bring it back.
        #expect(!repo.exists("notes-of-mine.txt"))
        let restore = try #require(status.stderr.split(separator: "\n").first { $0.contains("git restore --source=") })
        #expect(restore.contains("notes-of-mine.txt") && restore.contains("candidate.txt"), "\(restore)")
        try runProgram("/bin/sh", ["-c", String(restore[restore.range(of: "git restore")!.lowerBound...])], in: repo.path)
        #expect(repo.read("notes-of-mine.txt") == "my new file\n")
    }
}
