import Foundation
import Testing
import Fixtures

/// `diff` (two runs side by side, against `git diff` as the oracle) and the filters of `log`,
/// through the binary, on runs made in process.
@Suite(.ownThreads) struct DiffAndQueryTests {
    /// Score (lower is better) and peak_mb from candidate.txt; a constraint on peak_mb.
    /// Runs: baseline 10/300, keep 5/350 ("five"), discard 7/200 ("seven"), keep 4/390 ("four", a file renamed).
    static func repositoryWithMetrics() throws -> (repo: TempRepository, runs: [RanIteration]) {
        let repo = try experimentRepository([
            "eval.sh": "read s p < candidate.txt\necho \"score: $s\"\necho \"peak_mb: $p\"\n",
            "candidate.txt": "10 300\n", "notes.txt": "one\ntwo\nthree\nfour\nfive\n",
        ]) {
            $0.evaluate = "sh eval.sh"
            $0.metric = "score"
            $0.direction = .lower
            $0.constraints = ["peak_mb <= 400"]
        }
        var runs = [try repo.runIteration()]
        for (candidate, message) in [("5 350", "five"), ("7 200", "seven")] {
            try repo.write("candidate.txt", candidate + "\n")
            runs.append(try repo.runIteration(message: message))
        }
        try repo.write("candidate.txt", "4 390\n")
        try FileManager.default.moveItem(atPath: repo.path + "/notes.txt", toPath: repo.path + "/renamed.txt")
        runs.append(try repo.runIteration(message: "four"))
        return (repo, runs)
    }

    @Test func diffShowsMetricsSideBySideAndTheCodeAsGitDiffDoes() throws {
        let (repo, runs) = try Self.repositoryWithMetrics()
        let discard = runs[2].outcome, best = runs[3].outcome
        #expect(discard.record.status == .discard && best.record.status == .keep)
        let old = discard.commit.hex, new = best.commit.hex

        // Default RUN2: the best. The patch is git's.
        let text = try Tool.run(["diff", String(discard.record.run.prefix(18))], in: repo)
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].contains("RUN1") && lines[0].contains(discard.record.run) && lines[0].contains("discard") && lines[0].contains("\"seven\""))
        #expect(lines[1].contains("RUN2") && lines[1].contains(best.record.run) && lines[1].contains("keep") && lines[1].contains("\"four\""))
        let score = try #require(lines.first { $0.hasPrefix("score ") })
        #expect(score.split(separator: " ").map(String.init) == ["score", "7", "4", "-3", "(-42.86%)"])
        let peak = try #require(lines.first { $0.hasPrefix("m.peak_mb ") })
        #expect(peak.split(separator: " ").map(String.init) == ["m.peak_mb", "200", "390", "+190", "(+95.00%)", "peak_mb", "<=", "400"])
        #expect(lines.contains { $0.hasPrefix("duration ") })
        let patch = try repo.git(["diff", old, new])
        #expect(patch.contains("rename from notes.txt") && patch.contains("-7 200"))
        #expect(text.stdout.hasSuffix("\n" + patch), "the tool's patch is git's:\n\(text.stdout)\n---\n\(patch)")

        // --stat and --name-only, against git's.
        let stat = try Tool.run(["diff", discard.record.run, best.record.run, "--stat"], in: repo).stdout
        #expect(stat.hasSuffix("\n" + (try repo.git(["diff", "--stat", old, new]))), "\(stat)")
        let names = try Tool.run(["diff", discard.record.run, best.record.run, "--name-only"], in: repo).stdout
        #expect(names.hasSuffix("\n" + (try repo.git(["diff", "--name-only", old, new]))), "\(names)")
        let none = try Tool.run(["diff", discard.record.run, "--no-patch"], in: repo).stdout
        #expect(!none.contains("diff --git") && none.contains("m.peak_mb"))

        // The same run twice: no change.
        let same = try Tool.run(["diff", best.record.run], in: repo).stdout
        #expect(same.contains("(no change between the two commits)"))
    }

    @Test func diffInJSONAndItsErrors() throws {
        let (repo, runs) = try Self.repositoryWithMetrics()
        let baseline = runs[0].outcome, second = runs[1].outcome
        let output = try Tool.run(["diff", baseline.record.run, second.record.run, "--format", "json", "--name-only"], in: repo)
        #expect(output.status == 0, "\(output.stderr)")
        let object = try #require((try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8))) as? [String: Any])
        let old = try #require(object["old"] as? [String: Any]), new = try #require(object["new"] as? [String: Any])
        #expect(old["run"] as? String == baseline.record.run && old["baseline"] as? Bool == true && old["commit"] as? String == baseline.commit.hex)
        #expect(new["status"] as? String == "keep" && new["description"] as? String == "five" && (new["record"] as? String)?.hasPrefix("v=1 ") == true)
        let metrics = try #require(object["metrics"] as? [[String: Any]])
        #expect(metrics.map { $0["name"] as? String } == ["score", "m.peak_mb", "duration"])
        #expect(metrics[0]["kind"] as? String == "primary" && metrics[0]["old"] as? Double == 10 && metrics[0]["new"] as? Double == 5 && metrics[0]["delta"] as? Double == -5)
        #expect(metrics[1]["delta"] as? Double == 50 && metrics[1]["constraints"] as? [String] == ["peak_mb <= 400"])
        #expect(object["diff_format"] as? String == "name-only")
        #expect(object["diff"] as? String == (try repo.git(["diff", "--name-only", baseline.commit.hex, second.commit.hex])))

        let missing = try Tool.run(["diff", "19990101"], in: repo)
        #expect(missing.status == 1 && missing.stderr.contains("no run '19990101'"))
        let both = try Tool.run(["diff", baseline.record.run, "--stat", "--name-only"], in: repo)
        #expect(both.status == 64 && both.stderr.contains("exclude one another"))
    }
}
