@testable import Autoresearch
import Foundation
import Fixtures
import Testing

/// A collaborator with push access as an attacker: forged records, a branch with another
/// evaluator, references of the wrong type. The git CLI writes what the attacker pushes.
@Suite(.ownThreads) struct TrustTests {
    /// A repository with the baseline measured (score 500) and pushed to a bare remote, and an
    /// attacker's clone of that remote.
    static func sharedExperiment() throws -> (remote: TestRemote, ours: TempRepository, attacker: TempRepository) {
        let remote = try TestRemote(.bareRepositoryPath)
        let ours = try parallelRepository()
        try ours.git(["remote", "add", "origin", remote.bare.path])
        #expect(try Tool.run(["run"], in: ours).status == 0)
        #expect(try Tool.run(["push"], in: ours).status == 0)
        return (remote, ours, try SharingTests.clone(remote.bare.path))
    }

    static func statusJSON(_ repo: TempRepository) throws -> [String: Any] {
        let output = try Tool.run(["status", "--format", "json"], in: repo)
        return try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any], "\(output.stderr)")
    }

    @Test func aForgedKeepIsSuspectAndABetterRunIsStillKept() throws {
        let (remote, ours, attacker) = try Self.sharedExperiment()
        defer { withExtendedLifetime(remote) {} }
        try attacker.git(["fetch", "-q", "origin", "refs/notes/autoresearch:refs/notes/autoresearch"])
        let best = try attacker.gitLine("rev-parse", "autoresearch/s")
        let forged = "v=1 experiment=s run=20990101-000000-dddddd status=keep metric=score value=-999 direction=lower duration=1 start=2099-01-01T00:00:00.000Z host=evil desc=forged"
        try attacker.git(["notes", "--ref", "autoresearch", "append", "-m", forged, best])
        try attacker.git(["push", "-q", "origin", "refs/notes/autoresearch"])

        let pull = try Tool.run(["pull"], in: ours)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(pull.stderr.contains("1 suspect record from origin") && pull.stderr.contains("20990101-000000-dddddd"), "\(pull.stderr)")
        let status = try Self.statusJSON(ours)
        #expect(status["best_value"] as? Double == 500)
        #expect((status["suspect"] as? [[String: Any]])?.first?["run"] as? String == "20990101-000000-dddddd")
        let text = try Tool.run(["status"], in: ours).stdout
        #expect(text.contains("suspect") && text.contains("starts in the future"), "\(text)")
        let log = try Tool.run(["log"], in: ours).stdout
        #expect(log.contains("baseline!") && log.contains("! suspect"), "\(log)")

        try ours.write("value.txt", "400\n")
        let run = try Tool.run(["run", "--format", "json"], in: ours)
        #expect(run.stdout.contains("\"status\":\"keep\""), "\(run.stdout)\(run.stderr)")
        #expect(try Self.statusJSON(ours)["best_value"] as? Double == 400)
    }

    @Test func aSecondKeepOfTheSameCommitIsSuspect() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        func keep(_ run: String, _ value: Double) -> RunRecord {
            RunRecord(experiment: "s", run: RunID.make(at: start).prefix(16) + run, status: .keep, metric: "score", value: value,
                      bestBefore: nil, direction: .lower, duration: 1, start: start, exitCode: 0, reason: nil, description: "", host: "h")
        }
        let reasons = RecordTrust.suspicions([keep("aaaaaa", 5), keep("bbbbbb", 1), keep("aaaaaa", 5)], now: start)
        #expect(reasons[0] == nil && reasons[2] == nil)
        #expect(reasons[1]?.contains("a second keep") == true)
        var mismatched = keep("cccccc", 1)
        mismatched.run = "20200101-000000-cccccc"
        #expect(RecordTrust.suspicions([mismatched], now: start)[0]?.contains("does not match its start") == true)
        for date in [start, Date(timeIntervalSince1970: 951_782_400), Date(timeIntervalSince1970: 4_107_542_399)] {
            #expect(RecordTrust.runIDTime(RunID.make(at: date)) == Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
        }
        #expect(RunID.make(at: Date(timeIntervalSince1970: 951_782_400.9996)).prefix(16) == "20000229-000000-", "seconds cut, not rounded")
        for run in ["20260230-000000-aaaaaa", "20261301-000000-aaaaaa", "2026010-1000000-aaaaaa", "20260101-000000-aaaaag", "r1"] {
            #expect(RecordTrust.runIDTime(run) == nil, "\(run)")
        }
    }

    @Test func loopSyncRefusesARemoteBestWithAnotherEvaluator() throws {
        let (remote, ours, attacker) = try Self.sharedExperiment()
        defer { withExtendedLifetime(remote) {} }
        _ = try attacker.commitFiles(["eval.sh": "echo \"score: 1\"\n"], message: "a better evaluator")
        try attacker.git(["push", "-q", "origin", "autoresearch/s"])
        let evil = try attacker.gitLine("rev-parse", "HEAD")

        let result = try loopJSON(ours, ["--sync", "origin", "--max-runs", "2", "--agent", try ours.agent("echo 450 > value.txt\n")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("did not adopt origin's autoresearch/s") && result.stderr.contains("its evaluator differs from ours (eval.sh)"),
                "\(result.stderr)")
        #expect(result.runs.first?["status"] as? String == "keep")
        #expect(result.runs.first?["best_before"] as? Double == 500)
        #expect(ours.read("eval.sh") == "sleep ${EVAL_SLEEP:-0}\necho \"score: $(cat value.txt)\"\n")
        #expect(try ours.gitLine("rev-parse", "refs/remotes/origin/autoresearch/s") == evil)
        #expect(try runProgram("/usr/bin/git", ["merge-base", "--is-ancestor", evil, "autoresearch/s"], in: ours.path).status != 0)
    }

    @Test func pushDoesNotJoinARemoteBranchWithAnotherEvaluator() throws {
        let (remote, ours, attacker) = try Self.sharedExperiment()
        defer { withExtendedLifetime(remote) {} }
        _ = try attacker.commitFiles(["eval.sh": "echo \"score: 1\"\n"], message: "a better evaluator")
        try attacker.git(["push", "-q", "origin", "autoresearch/s"])
        try ours.write("value.txt", "400\n")
        #expect(try Tool.run(["run"], in: ours).status == 0)
        let push = try Tool.run(["push"], in: ours)
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stderr.contains("not pushed: autoresearch/s: origin's branch is not comparable with ours: its evaluator differs from ours (eval.sh)"),
                "\(push.stderr)")
    }

    @Test func trustRemoteBestTakesTheAdoptedBestAsMeasured() throws {
        let (remote, ours, other) = try Self.sharedExperiment()
        defer { withExtendedLifetime(remote) {} }
        try ours.write("value.txt", "100\n")
        #expect(try Tool.run(["run"], in: ours).status == 0)
        #expect(try Tool.run(["push"], in: ours).status == 0)
        let result = try loopJSON(other, ["--sync", "origin", "--trust-remote-best", "--max-runs", "1",
                                          "--agent", try other.agent("echo 900 > value.txt\n")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("adopted the best from origin") && !result.stderr.contains("measured the adopted best again"), "\(result.stderr)")
        #expect(result.runs.map { $0["status"] as? String } == ["discard"])
    }

    @Test func aTreeForAnAttemptsChainIsSkippedAndSharingGoesOn() throws {
        let (remote, ours, attacker) = try Self.sharedExperiment()
        defer { withExtendedLifetime(remote) {} }
        let tree = try attacker.gitLine("rev-parse", "HEAD^{tree}")
        try attacker.git(["update-ref", "refs/autoresearch/evil/attempts", tree])
        try attacker.git(["push", "-q", "origin", "refs/autoresearch/evil/attempts"])

        let pull = try Tool.run(["pull"], in: ours)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(pull.stderr.contains("refs/autoresearch-remotes/origin/evil/attempts points at") && pull.stderr.contains("not a commit"), "\(pull.stderr)")
        #expect(try ours.git(["for-each-ref", "--format=%(refname)", "refs/autoresearch", "refs/autoresearch-remotes"]).contains("evil") == false)
        #expect(try Tool.run(["pull"], in: ours).status == 0)
        try ours.write("value.txt", "400\n")
        #expect(try Tool.run(["run"], in: ours).status == 0)
        let push = try Tool.run(["push"], in: ours)
        #expect(push.status == 0, "\(push.stderr)")
        try attacker.git(["push", "-q", "origin", ":refs/autoresearch/evil/attempts"])
        for command in [["pull"], ["push"]] { #expect(try Tool.run(command, in: ours).status == 0, "\(command)") }
        #expect(try runProgram("/usr/bin/git", ["fetch", "-q", "origin"], in: ours.path).status == 0)
        try ours.fsck()
    }

    @Test func loopSyncRefusesARemoteBestWithAnEntryGitRefuses() throws {
        let (remote, ours, attacker) = try Self.sharedExperiment()
        defer { withExtendedLifetime(remote) {} }
        let script = "(git ls-tree HEAD; printf '100644 blob %s\\t.GIT\\n' $(git rev-parse HEAD:value.txt)) | git mktree"
        let tree = try runProgram("/bin/sh", ["-c", script], in: attacker.path).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let evil = try attacker.gitLine("commit-tree", tree, "-p", "HEAD", "-m", "a .GIT entry")
        try attacker.git(["push", "-q", "origin", "\(evil):refs/heads/autoresearch/s"])

        let result = try loopJSON(ours, ["--sync", "origin", "--max-runs", "1", "--agent", try ours.agent("echo 450 > value.txt\n")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("its tree holds an entry git refuses, '.GIT'"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ours.path + "/.GIT/value.txt") && ours.read(".GIT") == nil)
    }
}
