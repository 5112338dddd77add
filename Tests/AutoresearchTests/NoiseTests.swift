import Autoresearch
import Foundation
import Testing
import Fixtures

/// Decisions on a noisy metric: a seeded evaluator, null changes, and one real improvement.
@Suite(.ownThreads) struct NoiseTests {
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

    /// The agent makes a null change (a note) every iteration but the 14th, where it lowers the
    /// level by 3 noise widths.
    static let agent = """
    if [ "$AUTORESEARCH_ITERATION" = 14 ]; then
      echo 7 > level.txt; echo "real: level 10 -> 7" > "$AUTORESEARCH_DESCRIPTION_FILE"
    else
      echo "idea $AUTORESEARCH_ITERATION" >> notes.txt; echo "null $AUTORESEARCH_ITERATION" > "$AUTORESEARCH_DESCRIPTION_FILE"
    fi

    """

    /// Runs 24 loop runs (baseline, 22 null changes, the real one at iteration 14) and returns the runs.
    func loop(repeats: Int? = nil) throws -> (runs: [RunRecord], repo: TempRepository) {
        let repo = try experimentRepository(["evaluate.py": Self.evaluator, "level.txt": "10\n", "notes.txt": "notes\n"]) {
            $0.evaluate = "python3 evaluate.py"
            $0.metric = "loss"
            $0.repeats = repeats
        }
        let result = try repo.loop(agent: try repo.agent(Self.agent)) { $0.maxRuns = 24 }
        #expect(result.summary.stop == .maxRuns)
        #expect(result.runs.count == 24)
        try repo.fsck()
        return (result.records, repo)
    }

    static func kept(_ runs: [RunRecord], _ prefix: String) -> [RunRecord] {
        runs.filter { $0.status == .keep && $0.description.hasPrefix(prefix) }
    }

    @Test func withoutNoiseHandlingNullChangesAreKept() throws {
        let (runs, _) = try loop()
        let falseKeeps = Self.kept(runs, "null")
        #expect(falseKeeps.count >= 3, "one noisy sample per candidate keeps lucky draws: \(falseKeeps.count)")
    }

    @Test func withRepeatsAndTheNoiseGateOnlyTheRealImprovementIsKept() throws {
        let (runs, repo) = try loop(repeats: 7)
        #expect(Self.kept(runs, "null").isEmpty, "no null change is kept: \(Self.kept(runs, "null").map(\.value))")
        let real = try #require(runs.first { $0.description.hasPrefix("real") })
        #expect(real.status == .keep, "the 3-width improvement is kept: \(real)")
        // Every sample is in the record; the baseline's spread is the noise the gate used.
        let baseline = try #require(runs.first)
        #expect(baseline.samples.count == 7)
        let noise = try #require(baseline.noise)
        #expect(noise > 0.4 && noise < 2.5, "the noise width estimates σ = 1: \(noise)")
        let gated = runs.filter { $0.reason?.contains("not more than the gate") == true }
        for run in gated { #expect(run.status == .discard) }
        #expect(try repo.git(["show", "autoresearch/s:level.txt"]) == "7\n")
    }

    @Test func aRecheckPoolsTheSamplesAndSaysLoudlyWhenTheBestNoLongerHolds() throws {
        // The evaluator prints what `.git/value` says, so the test decides what each measurement gives.
        let repo = try experimentRepository(["eval.sh": "echo \"loss: $(cat .git/value)\"\n", "code.txt": "a\n"]) {
            $0.evaluate = "sh eval.sh"
            $0.metric = "loss"
        }
        try repo.write(".git/value", "10")
        try repo.runIteration()
        // A recheck of the baseline measures the baseline again: best and baseline are one value.
        try repo.write(".git/value", "12")
        #expect(try repo.recheck().status == .recheck)
        let status = try repo.workspace().status(experiment: "s")
        #expect(status.baseline?.value == 11 && status.best?.record.value == 11, "\(status)")
        try repo.write(".git/value", "5")
        let lucky = try repo.runCandidate("b\n", file: "code.txt")
        #expect(lucky.status == .keep)

        try repo.write(".git/value", "11")
        let first = try repo.recheck()
        #expect(first.record.contains("status=recheck metric=loss value=8 samples=11 noise=4.4478 best_before=5 "), "median of 5 and 11: \(first.record)")
        #expect(!first.notices.contains { $0.contains("WARNING") }, "\(first.notices)")

        let second = try repo.recheck()
        #expect(second.record.contains("status=recheck metric=loss value=11 samples=11 "), "\(second.record)")
        #expect(second.notices.contains { $0.contains("WARNING: the best no longer holds") }, "\(second.notices)")
        #expect(second.record.contains("not better than the 11 it replaced"), "\(second.record)")
        #expect(try repo.workspace().best(experiment: "s")?.best.record.value == 11)

        // The next candidate is judged against the re-measured best.
        try repo.write(".git/value", "10.5")
        #expect(try repo.runCandidate("c\n", file: "code.txt").status == .keep)
        try repo.fsck()
    }
}
