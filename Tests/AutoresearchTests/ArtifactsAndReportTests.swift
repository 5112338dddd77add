import Autoresearch
import Foundation
import Testing
import Fixtures

@Suite(.ownThreads) struct ArtifactsAndReportTests {
    /// The evaluator writes metrics.json, rollout.json and a big file under out/ (ignored by git).
    static let evaluator = """
    mkdir -p out/traces
    read score < candidate.txt
    echo "{\\"ok\\": true, \\"score\\": $score, \\"counts\\": {\\"samples\\": 64}}" > out/metrics.json
    echo "rollout of run $AUTORESEARCH_RUN_ID" > out/rollout.json
    printf 'step %s\\n' 1 2 3 > out/traces/t1.log
    head -c 5000 /dev/zero > out/big.bin

    """

    @Test(arguments: Transport.allCases)
    func artifactsTravelWithTheRunAndAreRestoredInAnotherClone(through transport: Transport) throws {
        let remote = try TestRemote(transport)
        let first = try experimentRepository(["eval.sh": Self.evaluator, "candidate.txt": "0.5\n", ".gitignore": "out/\n"]) {
            $0.evaluate = "sh eval.sh"
            $0.metric = "score"
            $0.direction = .higher
            $0.metricFile = "out/metrics.json"
            $0.artifacts = ["out/*.json", "out/traces", "out/big.bin"]
            $0.artifactLimit = 4096
        }
        try first.git(["remote", "add", "origin", remote.url])
        let baseline = try first.runIteration()
        #expect(baseline.status == .keep)
        #expect(baseline.notices.contains { $0.contains("artifacts over the 4.0 KiB limit were not stored: out/big.bin (4.9 KiB)") },
                "\(baseline.notices)")
        let record = baseline.record
        let run = baseline.outcome.record.run
        let tree = try #require(TempRepository.field("artifacts", record))
        #expect(record.contains("artifacts_skipped=\"out/big.bin (4.9 KiB)\""), "\(record)")
        // The plain git CLI sees the tree, reachable from the attempts chain.
        #expect(try first.git(["ls-tree", "-r", "--name-only", tree]) == "out/metrics.json\nout/rollout.json\nout/traces/t1.log\n")
        #expect(try first.git(["rev-list", "--objects", "refs/autoresearch/s/attempts"]).contains(tree))
        try first.push()

        let second = try TempRepository(cloneOf: remote.url)
        try second.pull()
        let secondWorkspace = try second.workspace()
        let stored = try secondWorkspace.artifacts(of: try secondWorkspace.run(named: run))
        #expect(stored.map(\.path) == ["out/metrics.json", "out/rollout.json", "out/traces/t1.log"], "\(stored)")
        #expect(stored.last?.size == 21)
        let out = second.path + "/restored"
        let restored = try secondWorkspace.restoreArtifacts(of: try secondWorkspace.run(named: run), to: out)
        #expect(restored.count == 3)
        #expect(try String(contentsOfFile: out + "/out/rollout.json", encoding: .utf8) == "rollout of run \(run)\n")
        #expect(try String(contentsOfFile: out + "/out/traces/t1.log", encoding: .utf8) == "step 1\nstep 2\nstep 3\n")
        #expect(try String(contentsOfFile: out + "/out/metrics.json", encoding: .utf8) == (first.read("out/metrics.json") ?? "?"))
        // Restoring again would replace files: refused, nothing written (through the binary: its exit status and message).
        let again = try Tool.run(["artifacts", run, "--out", out], in: second)
        #expect(again.status == 1 && again.stderr.contains("exists; nothing was written"), "\(again.stderr)")
        try first.fsck()
        try second.fsck()
    }

    @Test func stalefilesAreNotTakenForTheRunsArtifacts() throws {
        let repo = try experimentRepository(["eval.sh": "echo 'score: 1'\n", ".gitignore": "out/\n", "candidate.txt": "a\n"]) {
            $0.evaluate = "sh eval.sh"
            $0.metric = "score"
            $0.artifacts = ["out/*"]
        }
        try repo.write("out/old.json", "from an earlier run\n")
        let run = try repo.runIteration()
        #expect(!run.record.contains("artifacts="), "a file the evaluation did not write is not stored: \(run.record)")
    }

    /// Three experiments (made in process): a contract run with smoke, artifacts and targets; a plain one with
    /// repeats; one whose evaluator always fails.
    @Test func theMatrixReportMatchesTheExpectedDocument() throws {
        let repo = try TempRepository()
        try repo.commitFiles([
            "eval.sh": Self.evaluator, "candidate.txt": "0.5\n", ".gitignore": "out/\n",
            "speed.sh": "echo 'ms: 12'\necho 'peak_mb: 300'\n", "broken.sh": "echo 'no'; exit 1\n",
        ], message: "project")
        func make(_ name: String, _ configure: (inout TestSettings) -> Void) throws {
            try repo.initialize(name, configure)
            try repo.git(["switch", "-q", "main"])
        }
        try make("contract") {
            $0.title = "Contract run"
            $0.goal = "Check the metrics contract."
            $0.evaluate = "sh eval.sh"
            $0.smoke = "sh eval.sh"
            $0.smokeBudget = 30
            $0.metric = "score"
            $0.direction = .higher
            $0.metricFile = "out/metrics.json"
            $0.requiredKeys = ["counts.samples"]
            $0.artifacts = ["out/*.json"]
            $0.targets = ["gsm8k", "evalplus"]
        }
        try make("latency") {
            $0.evaluate = "sh speed.sh"
            $0.metric = "ms"
            $0.repeats = 3
            $0.minDelta = "1%"
            $0.constraints = ["peak_mb <= 400"]
            $0.budget = 60
        }
        try make("unstable") {
            $0.title = "Unstable | flaky"
            $0.evaluate = "sh broken.sh"
            $0.metric = "acc"
            $0.direction = .higher
        }
        var runs: [String: (run: String, commit: String, record: String)] = [:]
        for name in ["contract", "latency", "unstable"] {
            let ran = try repo.runIteration(experiment: name)
            runs[name] = (ran.outcome.record.run, try repo.gitLine("rev-parse", "--short", "autoresearch/\(name)"), ran.record)
            try repo.git(["switch", "-q", "main"])
        }
        func date(_ record: String) -> String {
            let start = TempRepository.field("start", record)!  // 2026-11-23T13:26:03.315Z
            return start.prefix(10) + " " + start.dropFirst(11).prefix(5) + " UTC"
        }
        func time(_ record: String) -> String { Durations.format(Double(TempRepository.field("duration", record)!)!) }
        let contract = runs["contract"]!, latency = runs["latency"]!, unstable = runs["unstable"]!
        let tree = TempRepository.field("artifacts", contract.record)!.prefix(7)
        let expected = """
        # Experiments

        ## Matrix
        | ID | Name | Command | Metrics | Artifacts | Smoke | Full |
        |---|---|---|---|---|---|---|
        | Exp-001 | Contract run | `sh eval.sh` | `score` (higher), `counts.samples` | `out/*.json` | [x] | [x] |
        | Exp-002 | latency | `sh speed.sh` | `ms` (lower), `peak_mb <= 400` |  | — | [x] |
        | Exp-003 | Unstable \\| flaky | `sh broken.sh` | `acc` (higher) |  | — | [ ] |

        ## Summary
        | ID | Baseline | Best | Improvement | Runs | Time |
        |---|---|---|---|---|---|
        | Exp-001 | 0.5 | 0.5 | — | 1 (1 keep) | \(time(contract.record)) (\(time(contract.record)) keep) |
        | Exp-002 | 12 | 12 | — | 1 (1 keep) | \(time(latency.record)) (\(time(latency.record)) keep) |
        | Exp-003 | — | — | — | 1 (1 crash) | \(time(unstable.record)) (\(time(unstable.record)) crash) |

        ## Latest Passing Runs (\(max(date(contract.record), date(latency.record))))
        - Exp-001 smoke/full: passed, run `\(contract.run)` on `\(contract.commit)` (\(date(contract.record))), `score=0.5`, `gsm8k/score=0.5`, `gsm8k/counts.samples=64`, `evalplus/score=0.5`, `evalplus/counts.samples=64`; artifacts in tree `\(tree)` (git autoresearch artifacts \(contract.run) --out DIR)
        - Exp-002 full: passed, run `\(latency.run)` on `\(latency.commit)` (\(date(latency.record))), `ms=12`, `peak_mb=300`
        - Exp-003 full: no passing run yet (1 run; last run \(unstable.run): crash, exit status 1)

        ## Details

        ### Exp-001: Contract run
        - Experiment: `contract` on branch `autoresearch/contract`
        - Goal: Check the metrics contract.
        - Command:
          - Smoke: `sh eval.sh` (budget 30s, limit 1m15s)
          - Full: `sh eval.sh` (budget 5m00s, limit 12m30s)
        - Targets, in order: `gsm8k`, `evalplus`; the metric is their mean
        - Metric: `score`, higher is better, read from `out/metrics.json` (key `score`)
        - Required metrics: `ok=true` when present, `counts.samples`
        - Decision: kept when better than the best by more than min-delta 0
        - Artifacts: `out/*.json` (at most 10.0 MiB a run)
        - Runs: 1 (1 keep)
        - Best: `score=0.5` at `\(contract.commit)` (run `\(contract.run)`)
        - Top runs:
          1. `score=0.5` run `\(contract.run)` on `\(contract.commit)` (keep): autoresearch: configure experiment contract

        ### Exp-002: latency
        - Experiment: `latency` on branch `autoresearch/latency`
        - Command:
          - Full: `sh speed.sh` (budget 1m00s, limit 2m30s, 3 repeats, median)
        - Metric: `ms`, lower is better
        - Constraints: `peak_mb <= 400`
        - Decision: kept when better than the best by more than min-delta 1% and 2 noise widths
        - Runs: 1 (1 keep)
        - Best: `ms=12` at `\(latency.commit)` (run `\(latency.run)`)
        - Top runs:
          1. `ms=12` run `\(latency.run)` on `\(latency.commit)` (keep): autoresearch: configure experiment latency

        ### Exp-003: Unstable | flaky
        - Experiment: `unstable` on branch `autoresearch/unstable`
        - Command:
          - Full: `sh broken.sh` (budget 5m00s, limit 12m30s)
        - Metric: `acc`, higher is better
        - Decision: kept when better than the best by more than min-delta 0
        - Runs: 1 (1 crash)

        """
        let report = try repo.workspace().experimentsReport()
        #expect(report == expected, "\(report)")
        // The binary writes the same document to a file.
        let file = repo.path + "/.git/EXPERIMENTS.md"
        #expect(try Tool.run(["report", "-o", file], in: repo).status == 0)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == expected)
    }
}
