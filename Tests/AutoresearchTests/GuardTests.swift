import Foundation
import Testing
import Fixtures

@Suite struct GuardTests {
    @Test func anAgentThatEditsTheEvaluatorIsRejectedAndNeverBest() throws {
        let repo = try scenarioRepository()
        // The agent "improves" the score by making the evaluator print a better one.
        let agent = try repo.agent("echo 'echo \"score: 0.001\"' > eval.sh\n")
        let loop = try loopJSON(repo, ["--agent", agent, "--max-crashes", "2"])
        #expect(loop.status == 22, "rejected runs count toward --max-crashes")
        #expect(loop.runs.map { $0["status"] as? String } == ["keep", "rejected", "rejected"])
        #expect((loop.runs[1]["reason"] as? String) == "changed guarded paths: eval.sh")
        #expect(loop.runs[1]["value"] == nil)

        let baseline = try #require(loop.runs[0]["commit"] as? String)
        #expect(try repo.gitLine("rev-parse", "autoresearch/s") == baseline)
        #expect(try repo.gitLine("status", "--porcelain") == "")
        #expect(!(try repo.read("eval.sh") ?? "").contains("0.001"))
        #expect(!(try repo.ledgerLines().contains { $0.contains("value=0.001") }), "the fake metric is never recorded")
        #expect(loop.summary["best_value"] as? Double == 10)
        // The rejected change stays retrievable.
        let rejected = try #require(loop.runs[1]["commit"] as? String)
        #expect(try repo.git(["show", "\(rejected):eval.sh"]).contains("0.001"))
        try repo.fsck()
    }

    @Test func guardPatternsDirectoriesAndGlobs() throws {
        let repo = try scenarioRepository()
        try repo.commitFiles(["data/test.txt": "held-out\n", "labels.csv": "a,b\n", "notes.md": "free\n"], message: "data")
        try repo.commitExperimentSetting("guard", "data/")
        try repo.git(["config", "-f", ".autoresearch", "--add", "experiment.s.guard", "*.csv"])
        try repo.git(["commit", "-qam", "guard *.csv"])
        #expect(try Tool.run(["run"], in: repo).status == 0)

        for (path, guarded) in [("data/test.txt", true), ("labels.csv", true), (".autoresearch", true), ("notes.md", false)] {
            try repo.write(path, "changed by the candidate\n")
            let run = try runJSON(repo)
            if guarded {
                #expect(run.status == 16, "\(path)")
                #expect(run.object["status"] as? String == "rejected")
                #expect((run.object["reason"] as? String)?.contains(path) == true)
                #expect(try repo.gitLine("status", "--porcelain") == "")
            } else {
                #expect(run.status == 10 || run.status == 0, "\(path): \(run.object)")
            }
        }
    }

    @Test func aChangedEvaluatorStartsANewBaselineAndOlderRunsAreMarked() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.write("candidate.txt", "value 8\n")
        #expect(try Tool.run(["run"], in: repo).status == 0)

        // Without init, a committed evaluator change is a guarded change: rejected.
        try repo.write("eval.sh", "read kind arg < candidate.txt; echo \"score: $((arg * 100))\"\n")
        try repo.git(["commit", "-qam", "evaluator v2: score in percent"])
        let rejected = try Tool.run(["run"], in: repo)
        #expect(rejected.status == 16)
        #expect(rejected.stdout.contains("git autoresearch init --name s"))

        // On purpose: commit it, then init again, which pins the new evaluator.
        try repo.write("eval.sh", "read kind arg < candidate.txt; echo \"score: $((arg * 100))\"\n")
        try repo.git(["commit", "-qam", "evaluator v2: score in percent"])
        let reinit = try Tool.run(["init", "--name", "s"], in: repo)
        #expect(reinit.status == 0, "\(reinit.stderr)")
        #expect(reinit.stdout.contains("committed .autoresearch"))
        let baseline = try runJSON(repo)
        #expect(baseline.status == 0)
        #expect(baseline.object["baseline"] as? Bool == true)
        #expect(baseline.object["value"] as? Double == 800)

        let log = jsonArray(try Tool.run(["log", "--format", "json"], in: repo).stdout)
        #expect(log.map { $0["older_evaluator"] as? Bool } == [true, true, true, false])
        let evaluators = Set(log.compactMap { $0["evaluator"] as? String })
        #expect(evaluators.count == 2)
        #expect(try Tool.run(["log"], in: repo).stdout.contains("* measured with an older evaluator"))
    }

    @Test func rebaseTakesTheEvaluatorFromMainAsANewBaseline() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.git(["switch", "-q", "main"])
        try repo.write("eval.sh", "read kind arg < candidate.txt; echo \"score: $((arg * 100))\"\n")
        try repo.write("candidate.txt", "value 3\n")
        try repo.git(["commit", "-qam", "evaluator v2 and another candidate"])
        try repo.git(["switch", "-q", "autoresearch/s"])

        let rebase = try Tool.run(["rebase", "main"], in: repo)
        #expect(rebase.status == 0, "\(rebase.stderr)")
        #expect(rebase.stdout.contains("Took eval.sh from main"))
        #expect(repo.read("candidate.txt") == "value 10\n", "only guarded paths are taken")
        #expect(try repo.gitLine("status", "--porcelain") == "")
        let baseline = try runJSON(repo)
        #expect(baseline.object["baseline"] as? Bool == true)
        #expect(baseline.object["value"] as? Double == 1000)
        #expect(jsonArray(try Tool.run(["log", "--format", "json"], in: repo).stdout).map { $0["older_evaluator"] as? Bool } == [true, false])

        let again = try Tool.run(["rebase", "main"], in: repo)
        #expect(again.status == 1 && again.stderr.contains("nothing to take"))
        try repo.fsck()
    }
}
