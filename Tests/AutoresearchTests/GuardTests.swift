import Foundation
import Testing
import TestSupport

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
}
