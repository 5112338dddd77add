import Autoresearch
import Foundation
import Testing
import Fixtures

@Suite(.ownThreads) struct GuardTests {
    @Test func anAgentThatEditsTheEvaluatorIsRejectedAndNeverBest() throws {
        let repo = try scenarioRepository()
        // The agent "improves" the score by making the evaluator print a better one.
        let agent = try repo.agent("echo 'echo \"score: 0.001\"' > eval.sh\n")
        let loop = try repo.loop(agent: agent) { $0.maxCrashes = 2 }
        #expect(loop.summary.stop == .maxCrashes, "rejected runs count toward --max-crashes")
        #expect(loop.statuses == ["keep", "rejected", "rejected"])
        #expect(loop.records[1].reason == "changed guarded paths: eval.sh")
        #expect(loop.records[1].value == nil)

        let baseline = loop.runs[0].commit.hex
        #expect(try repo.gitLine("rev-parse", "autoresearch/s") == baseline)
        #expect(try repo.gitLine("status", "--porcelain") == "")
        #expect(!(try repo.read("eval.sh") ?? "").contains("0.001"))
        #expect(!(try repo.ledgerLines().contains { $0.contains("value=0.001") }), "the fake metric is never recorded")
        #expect(loop.summary.best?.record.value == 10)
        // The rejected change stays retrievable.
        let rejected = loop.runs[1].commit.hex
        #expect(try repo.git(["show", "\(rejected):eval.sh"]).contains("0.001"))
        try repo.fsck()
    }

    @Test func guardPatternsDirectoriesAndGlobs() throws {
        let repo = try scenarioRepository()
        try repo.commitFiles(["data/test.txt": "held-out\n", "labels.csv": "a,b\n", "notes.md": "free\n"], message: "data")
        try repo.commitExperimentSetting("guard", "data/")
        try repo.git(["config", "-f", ".autoresearch", "--add", "experiment.s.guard", "*.csv"])
        try repo.git(["commit", "-qam", "guard *.csv"])
        try repo.runIteration()

        for (path, guarded) in [("data/test.txt", true), ("labels.csv", true), (".autoresearch", true), ("notes.md", false)] {
            try repo.write(path, "changed by the candidate\n")
            let run = try repo.runIteration()
            if guarded {
                #expect(run.status == .rejected, "\(path): \(run.record)")
                #expect(run.outcome.record.reason?.contains(path) == true, "\(run.record)")
                #expect(try repo.gitLine("status", "--porcelain") == "")
            } else {
                #expect(run.status == .discard || run.status == .keep, "\(path): \(run.record)")
            }
        }
    }

    @Test func aChangedEvaluatorStartsANewBaselineAndOlderRunsAreMarked() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        #expect(try repo.runCandidate("value 8\n").status == .keep)

        // Without init, a committed evaluator change is a guarded change: rejected (the binary
        // prints how to change the evaluator on purpose).
        try repo.write("eval.sh", "read kind arg < candidate.txt; echo \"score: $((arg * 100))\"\n")
        try repo.git(["commit", "-qam", "evaluator v2: score in percent"])
        let rejected = try Tool.run(["run"], in: repo)
        #expect(rejected.status == 16)
        #expect(rejected.stdout.contains("git autoresearch init --name s"))

        // On purpose: commit it, then init again, which pins the new evaluator.
        try repo.write("eval.sh", "read kind arg < candidate.txt; echo \"score: $((arg * 100))\"\n")
        try repo.git(["commit", "-qam", "evaluator v2: score in percent"])
        let reinit = try repo.initialize()
        #expect(reinit.configCommit != nil, "committed .autoresearch")
        let baseline = try repo.runIteration()
        #expect(baseline.status == .keep)
        #expect(baseline.outcome.record.isBaseline)
        #expect(baseline.outcome.record.value == 800)

        let log = jsonArray(try Tool.run(["log", "--format", "json"], in: repo).stdout)
        #expect(log.map { $0["older_evaluator"] as? Bool } == [true, true, true, false])
        let evaluators = Set(log.compactMap { $0["evaluator"] as? String })
        #expect(evaluators.count == 2)
        #expect(try Tool.run(["log"], in: repo).stdout.contains("* measured with an older evaluator"))
    }

    @Test func rebaseTakesTheEvaluatorFromMainAsANewBaseline() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
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
        let baseline = try repo.runIteration()
        #expect(baseline.outcome.record.isBaseline)
        #expect(baseline.outcome.record.value == 1000)
        #expect(jsonArray(try Tool.run(["log", "--format", "json"], in: repo).stdout).map { $0["older_evaluator"] as? Bool } == [true, false])

        let again = try Tool.run(["rebase", "main"], in: repo)
        #expect(again.status == 1 && again.stderr.contains("nothing to take"))
        try repo.fsck()
    }
}
