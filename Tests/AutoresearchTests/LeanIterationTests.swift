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
    static func traceOneRun(_ calls: String) throws -> (trace: [String], output: ProcessOutput)? {
        guard let strace = ["/usr/bin/strace", "/bin/strace"].first(where: FileManager.default.isExecutableFile) else {
            print("skipped: strace is not installed (.ci/run installs it)")
            return nil
        }
        let repo = try experimentRepositoryThroughCLI(["eval.sh": "sleep 0.5; echo \"score: $(cat value.txt)\"\n", "value.txt": "1\n"],
                                                      ["--eval", "sh eval.sh", "--metric", "score", "--direction", "higher"])
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.write("value.txt", "0\n")
        let traceFile = repo.path + "/.git/run.strace"
        let output = try runProgram(strace, ["-f", "-qq", "-e", "trace=\(calls)", "-o", traceFile, Tool.path, "run"], in: repo.path)
        #expect(output.status == 10, "a discard: \(output.stderr)")
        #expect(try repo.gitLine("status", "--porcelain").isEmpty, "the discard left the work tree clean")
        return (try String(contentsOfFile: traceFile, encoding: .utf8).split(separator: "\n").map(String.init), output)
    }

    @Test func aRunNeitherSyncsFilesNorScansProcWhileTheEvaluatorRuns() throws {
        guard let (trace, _) = try Self.traceOneRun("openat,fsync,fdatasync,sync_file_range") else { return }
        let syncs = trace.filter { $0.contains("fsync(") || $0.contains("fdatasync(") || $0.contains("sync_file_range(") }
        #expect(syncs.isEmpty, "\(syncs)")
        // One read of the evaluator's /proc/PID/stat (its start time, for the marker) is expected;
        // a scan of the process table on every poll opened hundreds over the half second.
        let procReads = trace.filter { $0.range(of: #"/proc/[0-9]+/stat""#, options: .regularExpression) != nil }
        #expect(procReads.count <= 2, "\(procReads.count) reads of /proc/PID/stat: \(procReads.prefix(5))")
    }
}
