import Foundation
import Testing
import Fixtures

/// Decisions on a noisy metric: a seeded evaluator, null changes, and one real improvement.
@Suite struct NoiseTests {
    /// The true value is `level.txt`; every evaluation adds Gaussian noise (σ = 1) from Python's
    /// `random.Random(SEED + draw)`, the draw counted in `.git/draws`. Lower is better.
    static let evaluator = """
    import os, random
    level = float(open("level.txt").read())
    path = os.path.join(".git", "draws")
    draw = int(open(path).read()) if os.path.exists(path) else 0
    open(path, "w").write(str(draw + 1))
    print("loss: %.6f" % (level + random.Random(20261123 + draw).gauss(0, 1)))

    """

    /// The agent makes a null change (a note) every iteration but `real`, where it lowers the
    /// level by 3 noise widths.
    static let agent = """
    if [ "$AUTORESEARCH_ITERATION" = "$REAL" ]; then
      echo 7 > level.txt; echo "real: level 10 -> 7" > "$AUTORESEARCH_DESCRIPTION_FILE"
    else
      echo "idea $AUTORESEARCH_ITERATION" >> notes.txt; echo "null $AUTORESEARCH_ITERATION" > "$AUTORESEARCH_DESCRIPTION_FILE"
    fi

    """

    /// Runs 24 loop runs (baseline, 22 null changes, the real one at iteration 14) and returns the runs.
    func loop(_ initArguments: [String]) throws -> (runs: [[String: Any]], repo: TempRepository) {
        let repo = try experimentRepository(["evaluate.py": Self.evaluator, "level.txt": "10\n", "notes.txt": "notes\n"],
                                            ["--eval", "python3 evaluate.py", "--metric", "loss"] + initArguments)
        let agent = try repo.agent(Self.agent)
        let result = try loopJSON(repo, ["--agent", agent, "--max-runs", "24"], environment: ["REAL": "14"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.runs.count == 24)
        try repo.fsck()
        return (result.runs, repo)
    }

    static func kept(_ runs: [[String: Any]], _ prefix: String) -> [[String: Any]] {
        runs.filter { $0["status"] as? String == "keep" && ($0["description"] as? String)?.hasPrefix(prefix) == true }
    }

    @Test func withoutNoiseHandlingNullChangesAreKept() throws {
        let (runs, _) = try loop([])
        let falseKeeps = Self.kept(runs, "null")
        #expect(falseKeeps.count >= 3, "one noisy sample per candidate keeps lucky draws: \(falseKeeps.count)")
    }

    @Test func withRepeatsAndTheNoiseGateOnlyTheRealImprovementIsKept() throws {
        let (runs, repo) = try loop(["--repeats", "7"])
        #expect(Self.kept(runs, "null").isEmpty, "no null change is kept: \(Self.kept(runs, "null").map { $0["value"] ?? "" })")
        let real = try #require(runs.first { ($0["description"] as? String)?.hasPrefix("real") == true })
        #expect(real["status"] as? String == "keep", "the 3-width improvement is kept: \(real)")
        // Every sample is in the record; the baseline's spread is the noise the gate used.
        let baseline = try #require(runs.first)
        #expect((baseline["samples"] as? [Double])?.count == 7)
        let noise = try #require(baseline["noise"] as? Double)
        #expect(noise > 0.4 && noise < 2.5, "the noise width estimates σ = 1: \(noise)")
        let gated = runs.filter { ($0["reason"] as? String)?.contains("not more than the gate") == true }
        for run in gated { #expect(run["status"] as? String == "discard") }
        #expect(try repo.git(["show", "autoresearch/s:level.txt"]) == "7\n")
    }

    @Test func aRecheckPoolsTheSamplesAndSaysLoudlyWhenTheBestNoLongerHolds() throws {
        // The evaluator prints what `.git/value` says, so the test decides what each measurement gives.
        let repo = try experimentRepository(["eval.sh": "echo \"loss: $(cat .git/value)\"\n", "code.txt": "a\n"],
                                            ["--eval", "sh eval.sh", "--metric", "loss"])
        try repo.write(".git/value", "10")
        #expect(try Tool.run(["run"], in: repo).status == 0)
        // A recheck of the baseline measures the baseline again: best and baseline are one value.
        try repo.write(".git/value", "12")
        #expect(try Tool.run(["run", "--recheck"], in: repo).status == 0)
        let status = try Tool.run(["status", "--format", "json"], in: repo).stdout
        #expect(status.contains("\"baseline_value\":11") && status.contains("\"best_value\":11"), "\(status)")
        try repo.write(".git/value", "5")
        let lucky = try repo.runCandidate("b\n", file: "code.txt")
        #expect(lucky.status == 0)

        try repo.write(".git/value", "11")
        let first = try Tool.run(["run", "--recheck"], in: repo)
        #expect(first.status == 0, "\(first.stderr)")
        let firstRecord = try repo.record(of: first)
        #expect(firstRecord.contains("status=recheck metric=loss value=8 samples=11 noise=4.4478 best_before=5 "), "median of 5 and 11: \(firstRecord)")
        #expect(!first.stderr.contains("WARNING"))

        let second = try Tool.run(["run", "--recheck"], in: repo)
        let secondRecord = try repo.record(of: second)
        #expect(secondRecord.contains("status=recheck metric=loss value=11 samples=11 "), "\(secondRecord)")
        #expect(second.stderr.contains("WARNING: the best no longer holds"), "\(second.stderr)")
        #expect(secondRecord.contains("not better than the 11 it replaced"), "\(secondRecord)")
        let best = try Tool.run(["best", "--format", "json"], in: repo)
        #expect(best.stdout.contains("\"value\":11"), "\(best.stdout)")

        // The next candidate is judged against the re-measured best.
        try repo.write(".git/value", "10.5")
        #expect(try repo.runCandidate("c\n", file: "code.txt").status == 0)
        try repo.fsck()
    }
}
