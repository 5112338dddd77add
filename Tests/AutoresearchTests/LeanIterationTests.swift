import Autoresearch
import Fixtures
import Foundation
import Testing

/// Issue 16, "a lean iteration": what one `run` of the binary asks of the kernel, seen through
/// `strace` (installed by `.ci/run`; the tests skip with a message where it is missing).
@Suite struct LeanIterationTests {
    /// The system calls of one `run` (the tool and its children) whose names are in `calls`, as
    /// strace prints them, with the run's output. The evaluator sleeps half a second, printing
    /// nothing, so a tool that polled /proc would do it several times.
    static func traceOneRun(_ calls: String) throws -> [String]? {
        let repo = try Self.repository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.write("value.txt", "0\n")
        guard let (trace, output) = try Self.trace(calls, ["run"], in: repo) else { return nil }
        #expect(output.status == 10, "a discard: \(output.stderr)")
        #expect(try repo.gitLine("status", "--porcelain").isEmpty, "the discard left the work tree clean")
        return trace
    }

    /// An experiment whose evaluator sleeps half a second, then prints `score: ` and value.txt.
    static func repository() throws -> TempRepository {
        try experimentRepositoryThroughCLI(["eval.sh": "sleep 0.5; echo \"score: $(cat value.txt)\"\n", "value.txt": "1\n"],
                                           ["--eval", "sh eval.sh", "--metric", "score", "--direction", "higher"])
    }

    /// The system calls named in `calls` that the tool run with `arguments` in `repo` (and its
    /// children) made, as strace prints them; nil (a skip) without strace.
    static func trace(_ calls: String, _ arguments: [String], in repo: TempRepository) throws -> (trace: [String], output: ProcessOutput)? {
        guard let strace = ["/usr/bin/strace", "/bin/strace"].first(where: FileManager.default.isExecutableFile) else {
            print("skipped: strace is not installed (.ci/run installs it)")
            return nil
        }
        let traceFile = repo.path + "/.git/tool.strace"
        let output = try runProgram(strace, ["-f", "-qq", "-e", "trace=\(calls)", "-o", traceFile, Tool.path] + arguments, in: repo.path)
        return (try String(contentsOfFile: traceFile, encoding: .utf8).split(separator: "\n").map(String.init), output)
    }

    @Test func aRunNeitherSyncsFilesNorScansProcWhileTheEvaluatorRuns() throws {
        guard let trace = try Self.traceOneRun("openat,fsync,fdatasync,sync_file_range") else { return }
        let syncs = trace.filter { $0.contains("fsync(") || $0.contains("fdatasync(") || $0.contains("sync_file_range(") }
        #expect(syncs.isEmpty, "\(syncs)")
        // One read of the evaluator's /proc/PID/stat (its start time, for the marker) is expected;
        // a scan of the process table on every poll opened hundreds over the half second.
        let procReads = trace.filter { $0.range(of: #"/proc/[0-9]+/stat""#, options: .regularExpression) != nil }
        #expect(procReads.count <= 2, "\(procReads.count) reads of /proc/PID/stat: \(procReads.prefix(5))")
    }

    /// libgit2 (with mbedTLS) parsed the system's CA bundle at initialisation, for every command.
    @Test func onlyACommandThatTalksToARemoteLoadsTheCertificateAuthorities() throws {
        let repo = try Self.repository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        guard let (local, status) = try Self.trace("openat", ["status"], in: repo) else { return }
        #expect(status.status == 0, "\(status.stderr)")
        let bundle = "/etc/ssl/certs"
        #expect(!local.contains { $0.contains(bundle) }, "\(local.filter { $0.contains(bundle) })")
        // Nothing listens on port 9: the push fails after the certificates were loaded.
        _ = try repo.git(["remote", "add", "origin", "https://127.0.0.1:9/experiments.git"])
        guard let (remote, push) = try Self.trace("openat", ["push"], in: repo) else { return }
        #expect(push.status != 0)
        #expect(remote.contains { $0.contains(bundle) } || !FileManager.default.fileExists(atPath: bundle),
                "the push did not read the CA bundle: \(push.stderr)")
    }
}
