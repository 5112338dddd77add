import Foundation
import Testing
import Fixtures

@Suite struct ArtifactsAndReportTests {
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
        let first = try experimentRepository(["eval.sh": Self.evaluator, "candidate.txt": "0.5\n", ".gitignore": "out/\n"],
                                             ["--eval", "sh eval.sh", "--metric", "score", "--direction", "higher",
                                              "--metric-file", "out/metrics.json", "--artifact", "out/*.json", "--artifact", "out/traces",
                                              "--artifact", "out/big.bin", "--artifact-limit", "4096"])
        try first.git(["remote", "add", "origin", remote.url])
        let baseline = try Tool.run(["run"], in: first)
        #expect(baseline.status == 0)
        #expect(baseline.stderr.contains("artifacts over the 4.0 KiB limit were not stored: out/big.bin (4.9 KiB)"), "\(baseline.stderr)")
        let record = try first.record(of: baseline)
        let run = try #require(TempRepository.field("run", record))
        let tree = try #require(TempRepository.field("artifacts", record))
        #expect(record.contains("artifacts_skipped=\"out/big.bin (4.9 KiB)\""), "\(record)")
        // The plain git CLI sees the tree, reachable from the attempts chain.
        #expect(try first.git(["ls-tree", "-r", "--name-only", tree]) == "out/metrics.json\nout/rollout.json\nout/traces/t1.log\n")
        #expect(try first.git(["rev-list", "--objects", "refs/autoresearch/s/attempts"]).contains(tree))
        #expect(try Tool.run(["push"], in: first).status == 0)

        let second = try TempRepository(cloneOf: remote.url)
        #expect(try Tool.run(["pull"], in: second).status == 0)
        let shown = try Tool.run(["show", run, "--no-patch"], in: second)
        #expect(shown.stdout.contains("  out/metrics.json  "), "\(shown.stdout)\(shown.stderr)")
        #expect(shown.stdout.contains("  out/traces/t1.log  21 B"))
        let out = second.path + "/restored"
        let restored = try Tool.run(["artifacts", run, "--out", out], in: second)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try String(contentsOfFile: out + "/out/rollout.json", encoding: .utf8) == "rollout of run \(run)\n")
        #expect(try String(contentsOfFile: out + "/out/traces/t1.log", encoding: .utf8) == "step 1\nstep 2\nstep 3\n")
        #expect(try String(contentsOfFile: out + "/out/metrics.json", encoding: .utf8) == (first.read("out/metrics.json") ?? "?"))
        // Restoring again would replace files: refused, nothing written.
        let again = try Tool.run(["artifacts", run, "--out", out], in: second)
        #expect(again.status == 1 && again.stderr.contains("exists; nothing was written"), "\(again.stderr)")
        try first.fsck()
        try second.fsck()
    }

    @Test func stalefilesAreNotTakenForTheRunsArtifacts() throws {
        let repo = try experimentRepository(["eval.sh": "echo 'score: 1'\n", ".gitignore": "out/\n", "candidate.txt": "a\n"],
                                            ["--eval", "sh eval.sh", "--metric", "score", "--artifact", "out/*"])
        try repo.write("out/old.json", "from an earlier run\n")
        let output = try Tool.run(["run"], in: repo)
        #expect(try !repo.record(of: output).contains("artifacts="), "a file the evaluation did not write is not stored")
    }

    /// Three experiments: a contract run with smoke, artifacts and targets; a plain one with
    /// repeats; one whose evaluator always fails.
    @Test func theMatrixReportMatchesTheExpectedDocument() throws {
        let repo = try TempRepository()
        try repo.commitFiles([
            "eval.sh": Self.evaluator, "candidate.txt": "0.5\n", ".gitignore": "out/\n",
            "speed.sh": "echo 'ms: 12'\necho 'peak_mb: 300'\n", "broken.sh": "echo 'no'; exit 1\n",
        ], message: "project")
        func make(_ arguments: [String]) throws {
            let output = try Tool.run(["init"] + arguments, in: repo)
            #expect(output.status == 0, "\(output.stderr)")
            try repo.git(["switch", "-q", "main"])
        }
        try make(["--name", "contract", "--title", "Contract run", "--goal", "Check the metrics contract.",
                  "--eval", "sh eval.sh", "--smoke", "sh eval.sh", "--smoke-budget", "30s", "--metric", "score", "--direction", "higher",
                  "--metric-file", "out/metrics.json", "--require", "counts.samples", "--artifact", "out/*.json",
                  "--target", "gsm8k", "--target", "evalplus"])
        try make(["--name", "latency", "--eval", "sh speed.sh", "--metric", "ms", "--repeats", "3", "--min-delta", "1%",
                  "--constraint", "peak_mb <= 400", "--budget", "1m"])
        try make(["--name", "unstable", "--title", "Unstable | flaky", "--eval", "sh broken.sh", "--metric", "acc", "--direction", "higher"])
        var runs: [String: (run: String, commit: String, record: String)] = [:]
        for name in ["contract", "latency", "unstable"] {
            let output = try Tool.run(["run", "-e", name], in: repo)
            let record = try repo.record(of: output)
            runs[name] = (try #require(TempRepository.field("run", record)), try repo.gitLine("rev-parse", "--short", "autoresearch/\(name)"), record)
            try repo.git(["switch", "-q", "main"])
        }
        func date(_ record: String) -> String {
            let start = TempRepository.field("start", record)!  // 2026-11-23T13:26:03.315Z
            return start.prefix(10) + " " + start.dropFirst(11).prefix(5) + " UTC"
        }
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

        ### Exp-002: latency
        - Experiment: `latency` on branch `autoresearch/latency`
        - Command:
          - Full: `sh speed.sh` (budget 1m00s, limit 2m30s, 3 repeats, median)
        - Metric: `ms`, lower is better
        - Constraints: `peak_mb <= 400`
        - Decision: kept when better than the best by more than min-delta 1% and 2 noise widths
        - Runs: 1 (1 keep)
        - Best: `ms=12` at `\(latency.commit)` (run `\(latency.run)`)

        ### Exp-003: Unstable | flaky
        - Experiment: `unstable` on branch `autoresearch/unstable`
        - Command:
          - Full: `sh broken.sh` (budget 5m00s, limit 12m30s)
        - Metric: `acc`, higher is better
        - Decision: kept when better than the best by more than min-delta 0
        - Runs: 1 (1 crash)

        """
        let report = try Tool.run(["report", "--format", "markdown"], in: repo)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout == expected, "\(report.stdout)")
        let file = repo.path + "/.git/EXPERIMENTS.md"
        #expect(try Tool.run(["report", "-o", file], in: repo).status == 0)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == expected)
    }
}
