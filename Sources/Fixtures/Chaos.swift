import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a series of `kill -9` cycles found. Every count but `cycles` should stay 0.
public struct ChaosReport: Sendable {
    public let name: String
    public var cycles = 0
    /// The command after a kill failed, or the killed command failed on its own before the kill.
    public var nextCommandFailed = 0
    /// `git fsck --strict` reported something (here, or on the remote).
    public var fsckFailed = 0
    /// The experiment branch's files are not those of the best kept value.
    public var tipNotAtBest = 0
    /// A record seen after an earlier cycle is gone (here, or missing on the remote after a push).
    public var recordsLost = 0
    /// A run has two records.
    public var recordsDoubled = 0
    /// The user's untracked file or the ignored file changed or disappeared.
    public var userFilesDamaged = 0
    /// A process of the killed command (agent, evaluator, worker) still ran 10 s after the kill.
    public var liveChildren = 0
    public var seconds = 0.0
    /// The first failures, in words.
    public var examples: [String] = []
    /// The cycles with at least one failure.
    var failedCycles = Set<Int>()

    /// How many cycles found something wrong.
    public var failures: Int { failedCycles.count }

    /// The columns of `tableRow`.
    public static let tableHeader = """
        | kill -9 of | cycles | next command failed | fsck failed | tip not at best | records lost | records doubled | user files damaged | live children | time |
        |---|---|---|---|---|---|---|---|---|---|
        """

    /// One Markdown row of the figures.
    public var tableRow: String {
        let counts = [cycles, nextCommandFailed, fsckFailed, tipNotAtBest, recordsLost, recordsDoubled, userFilesDamaged, liveChildren]
        return "| \(name) | " + counts.map(String.init).joined(separator: " | ") + " | \(Int(seconds.rounded())) s |"
    }

    mutating func fail(_ counter: WritableKeyPath<ChaosReport, Int>, _ what: String) {
        self[keyPath: counter] += 1
        failedCycles.insert(cycles)
        if examples.count < 5 { examples.append("cycle \(cycles): \(what)") }
    }
}

/// Kills the tool with SIGKILL at random moments, over and over, in a real repository with a
/// real remote, and checks after every kill what a user would: the next command works, `git fsck`
/// is clean, the branch holds the best, no record is lost or doubled, the user's files are
/// intact, nothing the killed command started still runs.
public final class Chaos {
    /// The tool's binary.
    let tool: String
    /// Seconds the evaluator sleeps.
    let evaluationSeconds: String

    public init(tool: String = Tool.path, evaluationSeconds: Double = 0.05) {
        self.tool = tool
        self.evaluationSeconds = String(evaluationSeconds)
    }

    static let userFile = ("data/keep.txt", "the user's own notes, untracked\n")
    static let ignoredFile = ("cache/ignored.bin", "an ignored data set\n")

    /// `loop` (with `jobs` workers when more than 1, syncing with a remote on the file system)
    /// killed after a random delay up to `maxDelay` seconds, `cycles` times.
    public func killLoops(cycles: Int, jobs: Int = 1, maxDelay: Double = 1.5) throws -> ChaosReport {
        let (repo, remote) = try experiment()
        defer { _ = remote }
        var report = ChaosReport(name: jobs > 1 ? "`loop --jobs \(jobs) --sync`" : "`loop --sync`")
        var seen = Set<String>()
        let started = Date()
        let arguments = ["loop", "-q", "--agent", "sh \(repo.path)/.git/chaos-agent.sh", "--max-runs", "1000",
                         "--sync", "origin", "--push-every", "1"] + (jobs > 1 ? ["--jobs", String(jobs)] : [])
        for _ in 0..<cycles {
            report.cycles += 1
            try killAfterRandomDelay(arguments, in: repo, maxDelay: maxDelay, report: &report)
            try runNext(["status"], in: repo, report: &report)
            waitForNoProcesses(in: repo.path, report: &report)
            check(repo, seen: &seen, report: &report)
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// `push` to a bare repository (by path, or through `git daemon` on 127.0.0.1) killed after a
    /// random delay up to `maxDelay` seconds, after one more run of the agent each cycle; the next
    /// `push` must bring every record over.
    public func killPushes(cycles: Int, throughDaemon: Bool, maxDelay: Double = 0.25) throws -> ChaosReport {
        let (repo, remote) = try experiment()
        let daemon = throughDaemon ? try GitDaemon(serving: remote.path) : nil
        if let daemon { try repo.git(["remote", "set-url", "origin", daemon.url]) }
        var report = ChaosReport(name: throughDaemon ? "`push` (git daemon)" : "`push` (path)")
        var seen = Set<String>()
        let started = Date()
        for _ in 0..<cycles {
            report.cycles += 1
            try runNext(["loop", "-q", "--agent", "sh \(repo.path)/.git/chaos-agent.sh", "--max-runs", "1"], in: repo, report: &report)
            try killAfterRandomDelay(["push", "origin"], in: repo, maxDelay: maxDelay, report: &report)
            try runNext(["push", "origin"], in: repo, report: &report)
            check(repo, seen: &seen, report: &report)
            checkRemote(remote, holds: seen, report: &report)
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// A repository with experiment `s` (baseline measured, pushed to a bare `origin`), an agent
    /// that writes a random value, the user's untracked file and an ignored file.
    private func experiment() throws -> (TempRepository, TempRepository) {
        let repo = try TempRepository()
        try repo.commitFiles(["eval.sh": "sleep ${EVAL_SLEEP:-0}\necho \"score: $(cat value.txt)\"\n",
                              "value.txt": "500\n", ".gitignore": "cache/\n"], message: "evaluator")
        let remote = try TempRepository(bare: true)
        try repo.git(["remote", "add", "origin", remote.path])
        for arguments in [["init", "--name", "s", "--eval", "sh eval.sh", "--metric", "score", "--budget", "10s", "--grace", "1s"],
                          ["run", "-q"], ["push", "origin"]] {
            let output = try runProgram(tool, arguments, in: repo.path)
            guard output.status == 0 else { throw OracleError(description: "\(arguments[0]) failed: \(output.stderr)") }
        }
        try """
            sleep 0.0$(( $(od -An -N1 -tu1 /dev/urandom) % 10 ))
            echo $(( $(od -An -N2 -tu2 /dev/urandom) % 1000 )) > value.txt
            """.write(toFile: repo.path + "/.git/chaos-agent.sh", atomically: true, encoding: .utf8)
        for (path, content) in [Self.userFile, Self.ignoredFile] { try repo.write(path, content) }
        return (repo, remote)
    }

    /// Starts the tool with `arguments` and kills it with SIGKILL after a random delay; a command
    /// that ended by itself before must have succeeded.
    private func killAfterRandomDelay(_ arguments: [String], in repo: TempRepository, maxDelay: Double,
                                      report: inout ChaosReport) throws {
        let child = try ChildProcess(tool, arguments, in: repo.path, environment: ["EVAL_SLEEP": evaluationSeconds])
        if waitUntil(seconds: Double.random(in: 0.01...maxDelay), { !processExists(child.pid) }) {
            let output = child.output()
            if output.status != 0 {
                report.fail(\.nextCommandFailed, "\(arguments[0]) exited \(output.status) before the kill: \(output.stderr.prefix(300))")
            }
        } else {
            kill(child.pid, SIGKILL)
            child.wait()
        }
    }

    /// Runs the command that follows a kill; it must succeed.
    private func runNext(_ arguments: [String], in repo: TempRepository, report: inout ChaosReport) throws {
        let output = try runProgram(tool, arguments, in: repo.path, environment: ["EVAL_SLEEP": evaluationSeconds])
        if output.status != 0 {
            report.fail(\.nextCommandFailed, "\(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr.prefix(300))")
        }
    }

    /// Waits up to 10 s for every process working in `path` (an agent, an evaluator, a worker) to
    /// end; counts and kills what is left.
    private func waitForNoProcesses(in path: String, report: inout ChaosReport) {
        if waitUntil(seconds: 10, { Self.processes(workingIn: path).isEmpty }) { return }
        let left = Self.processes(workingIn: path)
        report.fail(\.liveChildren, "processes still running in the repository: \(left)")
        for pid in left { kill(pid, SIGKILL) }
    }

    /// The pids whose current directory is `path` or below it.
    static func processes(workingIn path: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard pid != getpid(), processExists(pid),
                  let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") else { return false }
            return cwd == path || cwd.hasPrefix(path + "/")
        }
    }

    /// The checks after a cycle: fsck, records, the branch at the best, the user's files.
    private func check(_ repo: TempRepository, seen: inout Set<String>, report: inout ChaosReport) {
        do { try repo.fsck() } catch { report.fail(\.fsckFailed, "\(error)") }
        let lines = (try? ledgerLines(of: repo.path)) ?? []
        let ids = lines.compactMap { Self.field("run", in: $0) }
        if ids.count != Set(ids).count { report.fail(\.recordsDoubled, "\(ids.count - Set(ids).count) runs recorded twice") }
        if !seen.isSubset(of: ids) { report.fail(\.recordsLost, "lost: \(seen.subtracting(ids).sorted().prefix(3))") }
        seen.formUnion(ids)
        let best = lines.filter { $0.contains(" status=keep ") }.compactMap { Self.field("value", in: $0).flatMap(Double.init) }.min()
        let tip = (try? repo.gitLine("show", "autoresearch/s:value.txt")).flatMap(Double.init)
        if best == nil || best != tip { report.fail(\.tipNotAtBest, "best kept \(String(describing: best)), tip holds \(String(describing: tip))") }
        for (path, content) in [Self.userFile, Self.ignoredFile] where repo.read(path) != content {
            report.fail(\.userFilesDamaged, "\(path) is \(repo.read(path).map { "changed: \($0.prefix(40))" } ?? "gone")")
            try? repo.write(path, content)
        }
    }

    /// After a push: the remote's fsck is clean and it holds every record seen here.
    private func checkRemote(_ remote: TempRepository, holds seen: Set<String>, report: inout ChaosReport) {
        do { try remote.fsck() } catch { report.fail(\.fsckFailed, "remote: \(error)") }
        let ids = ((try? ledgerLines(of: remote.path)) ?? []).compactMap { Self.field("run", in: $0) }
        if ids.count != Set(ids).count { report.fail(\.recordsDoubled, "remote: \(ids.count - Set(ids).count) runs recorded twice") }
        if !seen.isSubset(of: ids) { report.fail(\.recordsLost, "not on the remote: \(seen.subtracting(ids).sorted().prefix(3))") }
    }

    /// The value of `key=` in a record line.
    static func field(_ key: String, in line: String) -> String? {
        line.split(separator: " ").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }
}

/// Every record line in the ledger of the repository at `path` (any fanout), read with the git
/// CLI: the note lines but the log lines kept after the records (`log=NNN run=RUN text=TEXT`).
public func ledgerLines(of path: String) throws -> [String] {
    try noteLines(of: path).filter { !$0.hasPrefix("log=") }
}

/// Every line of every note in `refs/notes/autoresearch` of the repository at `path`, read with
/// the git CLI: `git notes list`, then one `git cat-file --batch` for all the notes.
public func noteLines(of path: String) throws -> [String] {
    let list = try runProgram("/usr/bin/git", ["notes", "--ref", "autoresearch", "list"], in: path)
    guard list.status == 0 else { return [] }
    let notes = list.stdout.split(separator: "\n").map { $0.split(separator: " ")[0] }
    guard !notes.isEmpty else { return [] }
    let ids = FileManager.default.temporaryDirectory.appendingPathComponent("notes-\(UUID().uuidString)").path
    try notes.joined(separator: "\n").write(toFile: ids, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: ids) }
    let batch = try runProgram("/bin/sh", ["-c", "git cat-file --batch < \"$0\"", ids], in: path)
    // Each note comes as a header line `ID blob SIZE`, then its text; a note's line never looks like a header.
    return batch.stdout.split(separator: "\n").map(String.init).filter { line in
        let fields = line.split(separator: " ")
        return !(fields.count == 3 && fields[1] == "blob" && fields[0].count == 40 && Int(fields[2]) != nil)
    }
}
