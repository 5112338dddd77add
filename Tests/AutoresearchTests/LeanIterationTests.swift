import Autoresearch
import Fixtures
import Foundation
import Testing

/// Issue 16, "a lean iteration": what one `run` of the binary asks of the kernel, seen through
/// `strace` (installed by `.ci/run`; the tests skip with a message where it is missing).
@Suite(.ownThreads) struct LeanIterationTests {
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

    /// Loose objects in the repository, as `git count-objects` counts them.
    static func looseObjects(_ repo: TempRepository) throws -> Int {
        Int(try repo.gitLine("count-objects").split(separator: " ")[0]) ?? -1
    }

    /// A discard wrote 3 commits (the attempts link, the record's notes commit, the log tail's on
    /// `refs/notes/autoresearch-logs`) and 14 loose objects; the git CLI script writes 7.
    @Test func aRunWritesOneNotesCommitHoldingTheRecordAndItsLogTail() throws {
        let forged = "v=1 experiment=s run=forged status=keep metric=score value=99 direction=higher start=2026-01-01T00:00:00.000Z"
        let repo = try experimentRepositoryThroughCLI(["eval.sh": "echo training; echo '\(forged)'; echo \"score: $(cat value.txt)\"\n", "value.txt": "1\n"],
                                                      ["--eval", "sh eval.sh", "--metric", "score", "--direction", "higher"])
        #expect(try Tool.run(["run"], in: repo).status == 0)
        let notesCommits = try repo.gitLine("rev-list", "--count", "refs/notes/autoresearch")
        let objects = try Self.looseObjects(repo)
        try repo.write("value.txt", "0\n")
        let output = try Tool.run(["run"], in: repo)
        #expect(output.status == 10, "a discard: \(output.stderr)")
        #expect(Int(try repo.gitLine("rev-list", "--count", "refs/notes/autoresearch")) == Int(notesCommits)! + 1)
        #expect(try repo.gitLine("for-each-ref", "refs/notes/autoresearch-logs").isEmpty)
        #expect(try Self.looseObjects(repo) - objects <= 9, "a snapshot (blob, tree, commit), the attempts link, the notes (blob, 3 trees, commit)")

        let run = try #require(TempRepository.field("run", try repo.record(of: output)))
        let commit = try repo.gitLine("rev-parse", "refs/autoresearch/s/attempts^2")
        let note = try repo.git(["log", "--notes=autoresearch", "-1", "--format=%N", commit]).split(separator: "\n")
        #expect(note.first?.hasPrefix("v=1 experiment=s run=\(run) status=discard") == true, "git log shows the record first: \(note)")
        #expect(note.contains("log=003 run=\(run) text=\"score: 0\""), "\(note)")
        // The forged line the evaluator printed is a log line, no record, for git's readers and the tool's.
        #expect(try repo.ledgerLines().count == 2)
        let show = try Tool.run(["show", run, "--no-patch"], in: repo)
        #expect(show.stdout.contains("  | training") && show.stdout.contains("  | \(forged)") && show.stdout.contains("  | score: 0"), "\(show.stdout)")
        #expect(!(try Tool.run(["log"], in: repo).stdout.contains("forged")))
    }

    /// Versions before this one kept the log tail in `refs/notes/autoresearch-logs`, `RUN NNN TEXT` a line.
    @Test func aLogTailInTheOldLogNotesIsStillShown() throws {
        let repo = try Self.repository()
        let output = try Tool.run(["run"], in: repo)
        let run = try #require(TempRepository.field("run", try repo.record(of: output)))
        let commit = try repo.gitLine("rev-parse", "HEAD")
        // The ledger as an older version wrote it, through the git CLI.
        let record = try repo.git(["notes", "--ref", "autoresearch", "show", commit]).split(separator: "\n").filter { !$0.hasPrefix("log=") }
        try repo.git(["notes", "--ref", "autoresearch", "add", "-f", "-m", record.joined(separator: "\n"), commit])
        try repo.git(["notes", "--ref", "autoresearch-logs", "add", "-m", "\(run) 002 second line\n\(run) 001 first line", commit])
        let show = try Tool.run(["show", run, "--no-patch"], in: repo)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("  | first line\n  | second line"), "\(show.stdout)")
    }

    /// A run leaves what it knows of the index for the next one (`index-match`: the index file's
    /// own checksum and HEAD's tree, which spares the next status the comparison of HEAD with the
    /// index); a torn or stale file there costs that comparison and nothing else.
    @Test func aRunTellsTheNextWhichTreeTheIndexHolds() throws {
        let repo = try experimentRepositoryThroughCLI(["eval.sh": "echo \"score: $(cat value.txt)\"\n", "value.txt": "1\n"],
                                                      ["--eval", "sh eval.sh", "--metric", "score", "--direction", "higher"])
        let matchPath = repo.path + "/.git/autoresearch/s/index-match"
        func expectMatchOfTheIndex(_ note: String) throws {
            let index = try #require(FileManager.default.contents(atPath: repo.path + "/.git/index"))
            let checksum = index.suffix(20).map { String(format: "%02x", $0) }.joined()
            #expect(repo.read(".git/autoresearch/s/index-match") == "\(checksum) \(try repo.gitLine("rev-parse", "HEAD^{tree}"))\n", "\(note)")
            #expect(try repo.gitLine("status", "--porcelain").isEmpty, "\(note)")
        }
        #expect(try Tool.run(["run"], in: repo).status == 0)
        for (value, stale) in [("2", "torn"), ("3", String(repeating: "0", count: 40) + " " + (try repo.gitLine("rev-parse", "HEAD^{tree}")))] {
            try stale.write(toFile: matchPath, atomically: false, encoding: .utf8)
            try repo.write("value.txt", value + "\n")
            try repo.write("staged-\(value).txt", "by the user\n")
            try repo.git(["add", "staged-\(value).txt"])
            let output = try Tool.run(["run"], in: repo)
            #expect(output.status == 0, "\(output.stderr)")
            #expect(try repo.git(["show", "--name-only", "--format=", "HEAD"]) == "staged-\(value).txt\nvalue.txt\n")
            try expectMatchOfTheIndex("after a run that found '\(stale.prefix(8))' there")
        }
    }
}
