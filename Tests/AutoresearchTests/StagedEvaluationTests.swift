import Autoresearch
import Foundation
import Testing
import Fixtures

/// A repository with `files` committed and experiment `s` configured as `configure` says.
func experimentRepository(_ files: [String: String], _ configure: (inout TestSettings) -> Void) throws -> TempRepository {
    let repo = try TempRepository()
    try repo.commitFiles(files, message: "project")
    try repo.initialize("s", configure)
    return repo
}

/// A repository with `files` committed and experiment `s` configured by the binary's `init`
/// with `initArguments` (for tests of what `init` accepts).
func experimentRepositoryThroughCLI(_ files: [String: String], _ initArguments: [String]) throws -> TempRepository {
    let repo = try TempRepository()
    try repo.commitFiles(files, message: "project")
    let output = try Tool.run(["init", "--name", "s"] + initArguments, in: repo)
    #expect(output.status == 0, "\(output.stderr)")
    return repo
}

extension TempRepository {
    /// The record of the run a `run` of the binary printed (its line starts with `run ID`), read
    /// with the git CLI.
    func record(of output: ProcessOutput) throws -> String {
        guard let id = output.stdout.split(separator: "\n").last(where: { $0.hasPrefix("run ") })?.split(separator: " ")[1] else {
            throw OracleError(description: "no run in: \(output.stdout)\(output.stderr)")
        }
        return try allLedgerLines().first { $0.contains(" run=\(id) ") } ?? ""
    }

    /// The value of `key` in a record line (unquoted values only).
    static func field(_ key: String, _ line: String) -> String? {
        line.split(separator: " ").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }
}

/// The metrics.json contract, constraints, smoke before full, and ordered targets, each run in
/// process on a real repository, checked in the records the git CLI reads.
@Suite(.ownThreads) struct StagedEvaluationTests {
    /// The evaluator copies `.git/payload` (outside the work tree, so the test sets it per run) to
    /// `out/metrics.json`; `absent` writes nothing.
    static func contractRepository() throws -> TempRepository {
        let repo = try experimentRepository([
            "eval.sh": "mkdir -p out\n[ \"$(cat .git/payload)\" = absent ] || cp .git/payload out/metrics.json\n",
            "candidate.txt": "0\n", ".gitignore": "out/\n",
        ]) {
            $0.evaluate = "sh eval.sh"
            $0.metric = "score"
            $0.direction = .higher
            $0.metricFile = "out/metrics.json"
            $0.requiredKeys = ["counts.samples"]
        }
        try repo.write(".git/payload", #"{"ok": true, "score": 0.5, "counts": {"samples": 64}}"#)
        return repo
    }

    @Test func everyBreachOfTheMetricsContractIsAFailedRunWithItsReason() throws {
        let repo = try Self.contractRepository()
        try repo.runIteration()
        let cases: [(payload: String, status: RunStatus, reason: String)] = [
            (#"{"ok": true, "score": 0.9}"#, .noMetric, "out/metrics.json has no key 'counts.samples'"),
            (#"{"ok": false, "score": 0.9, "counts": {"samples": 64}}"#, .crash, "the evaluator reported failure: ok is not true in out/metrics.json"),
            (#"{"ok": true, "score": NaN, "counts": {"samples": 64}}"#, .noMetric, "'score' in out/metrics.json is not finite"),
            (#"{"ok": true, "score": Infinity, "counts": {"samples": 64}}"#, .noMetric, "'score' in out/metrics.json is not finite"),
            ("{\"ok\": true, \"score\": 0.9,", .noMetric, "out/metrics.json is not a JSON object"),
            ("absent", .noMetric, "metric file out/metrics.json was not written"),
        ]
        for (index, item) in cases.enumerated() {
            try repo.write(".git/payload", item.payload)
            let result = try repo.runCandidate("\(index + 1)\n")
            #expect(result.status == item.status, "\(item.payload): \(result.record)")
            #expect(result.record.contains("status=\(item.status.rawValue)"), "\(result.record)")
            #expect(result.record.contains(item.reason), "\(result.record)")
            #expect(!result.record.contains("value="), "a failed contract has no value: \(result.record)")
            #expect(try repo.gitLine("status", "--porcelain") == "")
        }
        // A valid file passes, with every number recorded.
        try repo.write(".git/payload", #"{"ok": true, "score": 0.9, "counts": {"samples": 64}}"#)
        let kept = try repo.runCandidate("ok\n")
        #expect(kept.status == .keep)
        #expect(kept.record.contains("value=0.9 ") && kept.record.contains("m.counts.samples=64 m.ok=1 "), "\(kept.record)")
        try repo.fsck()
    }

    @Test func aRunThatBreaksAConstraintIsNotKeptWhateverItsMetric() throws {
        let repo = try experimentRepository([
            "eval.sh": "read score vram < candidate.txt\necho \"score: $score\"\n[ -z \"$vram\" ] || echo \"peak_vram_mb: $vram\"\n",
            "candidate.txt": "10 30000\n",
        ]) {
            $0.evaluate = "sh eval.sh"
            $0.metric = "score"
            $0.constraints = ["peak_vram_mb <= 40000"]
        }
        try repo.runIteration()
        let best = try repo.gitLine("rev-parse", "HEAD")

        let breach = try repo.runCandidate("1 41000\n")
        #expect(breach.status == .discard)
        #expect(breach.record.contains("status=discard") && breach.record.contains("value=1 "), "\(breach.record)")
        #expect(breach.record.contains("breach=\"peak_vram_mb=41000 breaks peak_vram_mb <= 40000\""), "\(breach.record)")
        #expect(try repo.gitLine("rev-parse", "HEAD") == best)

        let unreported = try repo.runCandidate("1\n")
        #expect(unreported.status == .discard)
        #expect(unreported.record.contains("peak_vram_mb was not reported"), "\(unreported.record)")

        let within = try repo.runCandidate("9 39000\n")
        #expect(within.status == .keep, "\(within.record)")
        #expect(within.record.contains("m.peak_vram_mb=39000"))
        try repo.fsck()
    }

    /// The evaluator logs each stage it runs to `.git/stages`; a candidate `fail-smoke` fails the smoke stage.
    static func stagedRepository(smokeMargin: String? = nil) throws -> TempRepository {
        try experimentRepository([
            "eval.sh": """
            echo "$AUTORESEARCH_STAGE $AUTORESEARCH_RUN_ID" >> .git/stages
            read value < candidate.txt
            [ "$value" = fail-smoke ] && [ "$AUTORESEARCH_STAGE" = smoke ] && { echo "smoke broke"; exit 3; }
            [ "$value" = fail-smoke ] && value=1
            [ "$AUTORESEARCH_STAGE" = smoke ] && echo "loss: $((value * 2))" || echo "loss: $value"

            """,
            "candidate.txt": "10\n",
        ]) {
            $0.evaluate = "sh eval.sh"
            $0.smoke = "sh eval.sh"
            $0.smokeBudget = 5
            $0.metric = "loss"
            $0.smokeMargin = smokeMargin
        }
    }

    func stages(_ repo: TempRepository, _ record: String) -> [String] {
        let run = TempRepository.field("run", record) ?? "?"
        return (repo.read(".git/stages") ?? "").split(separator: "\n").filter { $0.hasSuffix(run) }.map { String($0.split(separator: " ")[0]) }
    }

    @Test func smokeRunsFirstAndTheFullStageOnlyWhenItPasses() throws {
        let repo = try Self.stagedRepository()
        let baseline = try repo.runIteration()
        #expect(baseline.status == .keep)
        let first = baseline.record
        #expect(stages(repo, first) == ["smoke", "full"])
        #expect(first.contains("value=10 ") && first.contains(" smoke=20 "), "\(first)")

        let failed = try repo.runCandidate("fail-smoke\n")
        #expect(failed.status == .crash)
        #expect(stages(repo, failed.record) == ["smoke"], "the full stage never ran")
        #expect(failed.record.contains("stage=smoke") && failed.record.contains("reason=\"exit status 3 (smoke)\""), "\(failed.record)")

        let better = try repo.runCandidate("4\n")
        #expect(better.status == .keep)
        #expect(stages(repo, better.record) == ["smoke", "full"])
        #expect(better.record.contains("value=4 ") && better.record.contains(" smoke=8 ") && !better.record.contains("stage="), "\(better.record)")
        try repo.fsck()
    }

    @Test func aSmokeResultBehindTheBestsByMoreThanTheMarginSkipsTheFullStage() throws {
        let repo = try Self.stagedRepository(smokeMargin: "10%")
        try repo.runIteration()                               // smoke 20, full 10
        let behind = try repo.runCandidate("11\n")           // smoke 22: 10% behind 20 is 22, not more
        #expect(stages(repo, behind.record) == ["smoke", "full"])
        let further = try repo.runCandidate("12\n")          // smoke 24
        #expect(further.status == .discard)
        #expect(stages(repo, further.record) == ["smoke"])
        #expect(further.record.contains("fell behind the best's smoke result 20 by more than 10%"), "\(further.record)")
    }

    @Test func targetsRunInTheirOrderAndTheMetricIsTheirAggregate() throws {
        let repo = try experimentRepository([
            "eval.sh": """
            echo "$AUTORESEARCH_TARGET" >> .git/order
            read base < candidate.txt
            case "$AUTORESEARCH_TARGET" in gsm8k) echo "score: $base";; evalplus) echo "score: $((base * 3))";; miniwob) echo "score: $((base * 2))";; esac
            echo "rollout_ok: 1"

            """,
            "candidate.txt": "1\n", "benchmarks.txt": "# ordered\ngsm8k\nevalplus\n\nminiwob\n",
        ]) {
            $0.evaluate = "sh eval.sh"
            $0.metric = "score"
            $0.direction = .higher
            $0.targetsFile = "benchmarks.txt"
            $0.repeats = 2
            $0.constraints = ["rollout_ok >= 1"]
        }
        let baseline = try repo.runIteration()
        #expect(baseline.status == .keep)
        let record = baseline.record
        #expect(repo.read(".git/order") == "gsm8k\nevalplus\nminiwob\ngsm8k\nevalplus\nminiwob\n")
        #expect(record.contains("value=2 samples=2,2 "), "mean of 1, 3, 2: \(record)")
        #expect(record.contains("targets=gsm8k,evalplus,miniwob m.gsm8k/score=1 m.gsm8k/rollout_ok=1 m.evalplus/score=3 m.evalplus/rollout_ok=1 m.miniwob/score=2 m.miniwob/rollout_ok=1"), "\(record)")

        // One target becomes the metric; the targets file itself is guarded.
        try repo.commitExperimentSetting("aggregate", "evalplus")
        let newBaseline = try repo.runIteration()
        #expect(newBaseline.status == .keep)
        #expect(newBaseline.record.contains("value=3 "), "\(newBaseline.record)")
        let reordered = try repo.runCandidate("miniwob\n", file: "benchmarks.txt")
        #expect(reordered.status == .rejected, "the targets file is guarded: \(reordered.record)")
    }
}
