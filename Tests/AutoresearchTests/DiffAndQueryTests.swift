import Autoresearch
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

        // Default RUN2: the best, RUN1 named by a prefix no other run shares. The patch is git's.
        let others = runs.map(\.outcome.record.run).filter { $0 != discard.record.run }
        let prefix = try #require((16...discard.record.run.count).lazy.map { discard.record.run.prefix($0) }
            .first { prefix in !others.contains { $0.hasPrefix(prefix) } })
        let text = try Tool.run(["diff", String(prefix)], in: repo)
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        try #require(lines.count > 2, "\(text.stdout)")
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

        // Runs named as show names them: keywords, commits.
        let keywords = try Tool.run(["diff", "baseline", "best", "--name-only"], in: repo).stdout
        #expect(keywords.contains(runs[0].outcome.record.run) && keywords.contains(best.record.run), "\(keywords)")
        #expect(keywords.hasSuffix("\n" + (try repo.git(["diff", "--name-only", runs[0].outcome.commit.hex, new]))))

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

/// The filters of `log`, through the binary.
@Suite(.ownThreads) struct LogQueryTests {
    /// The four runs of `DiffAndQueryTests.repositoryWithMetrics` and a fifth record, as another
    /// machine's worker 2 would have written it (host `far`, started in 2099), on the "seven" run's commit.
    static func repositoryWithTwoHosts() throws -> (repo: TempRepository, runs: [RanIteration], far: String) {
        let (repo, runs) = try DiffAndQueryTests.repositoryWithMetrics()
        let seven = runs[2].outcome
        let far = "20991231-235959-abcdef"
        let line = seven.record.line.replacingOccurrences(of: "run=\(seven.record.run)", with: "run=\(far)")
            .replacingOccurrences(of: "host=\(seven.record.host)", with: "host=far worker=2")
            .replacingOccurrences(of: "desc=seven", with: "desc=\"far away\"")
            .replacingOccurrences(of: "start=\(RunRecord.timestamp(seven.record.start))", with: "start=2099-12-31T23:59:59.000Z")
        #expect(line.contains("worker=2") && line.contains("far away") && line.contains("start=2099"))
        try repo.git(["notes", "--ref", "autoresearch", "append", "-m", line, seven.commit.hex])
        return (repo, runs, far)
    }

    func descriptions(_ arguments: [String], in repo: TempRepository) throws -> [String] {
        let output = try Tool.run(["log", "--format", "json"] + arguments, in: repo)
        #expect(output.status == 0, "\(arguments): \(output.stderr)")
        return jsonArray(output.stdout).map { $0["description"] as? String ?? "?" }
    }

    func expectLog(_ arguments: [String], _ expected: [String], in repo: TempRepository, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let listed = try descriptions(arguments, in: repo)
        #expect(listed == expected, "log \(arguments.joined(separator: " ")): \(listed)", sourceLocation: sourceLocation)
    }

    @Test func grepWhereHostWorkerReverseAndLimit() throws {
        let (repo, _, _) = try Self.repositoryWithTwoHosts()
        let base = "autoresearch: configure experiment s"
        try expectLog([], [base, "five", "seven", "four", "far away"], in: repo)
        try expectLog(["--grep", "^f[io]"], ["five", "four"], in: repo)
        try expectLog(["--grep", "FIVE"], [], in: repo)
        try expectLog(["--grep", "FIVE", "-i"], ["five"], in: repo)
        try expectLog(["--grep", "r a"], ["far away"], in: repo)
        #expect(try descriptions(["--grep", "(far"], in: repo) == [], "not a regular expression: the text itself")
        try expectLog(["--where", "m.peak_mb > 300"], ["five", "four"], in: repo)
        try expectLog(["--where", "value < 8", "--where", "m.peak_mb <= 350"], ["five", "seven", "far away"], in: repo)
        try expectLog(["--where", "value == 10"], [base], in: repo)
        try expectLog(["--where", "value != 10", "--where", "duration >= 0"], ["five", "seven", "four", "far away"], in: repo)
        try expectLog(["--where", "m.missing > 0"], [], in: repo)
        try expectLog(["--host", "far"], ["far away"], in: repo)
        try expectLog(["--worker", "2"], ["far away"], in: repo)
        try expectLog(["--worker", "1"], [], in: repo)
        try expectLog(["--reverse"], ["far away", "four", "seven", "five", base], in: repo)
        try expectLog(["-n", "2", "--where", "m.peak_mb < 360"], ["seven", "far away"], in: repo)
        try expectLog(["-n", "1", "--reverse", "--sort", "metric"], ["four"], in: repo)

        for (condition, message) in [("m.peak_mb >", "cannot read 'm.peak_mb >' as a condition"), ("peak_mb > 3", "unknown field 'peak_mb'"),
                                     ("value ~ 3", "cannot read"), ("m. > 1", "unknown field")] {
            let bad = try Tool.run(["log", "--where", condition], in: repo)
            #expect(bad.status == 1 && bad.stderr.contains(message) && bad.stderr.contains("hint: write FIELD OP NUMBER"), "\(condition): \(bad.stderr)")
        }
    }

    @Test func sinceAndUntilTakeGitsDates() throws {
        let (repo, runs, _) = try Self.repositoryWithTwoHosts()
        let base = "autoresearch: configure experiment s"
        let second = RunRecord.timestamp(runs[1].outcome.record.start)
        try expectLog(["--since", second], ["five", "seven", "four", "far away"], in: repo)
        try expectLog(["--until", second], [base, "five"], in: repo)
        try expectLog(["--since", "1.hour.ago", "--until", "now"], [base, "five", "seven", "four"], in: repo)
        #expect(try descriptions(["--since", "yesterday"], in: repo).count == 5)
        try expectLog(["--until", "2 hours ago"], [], in: repo)
        try expectLog(["--since", "2099-12-31"], ["far away"], in: repo)
        let bad = try Tool.run(["log", "--since", "the day before"], in: repo)
        #expect(bad.status == 1 && bad.stderr.contains("cannot read 'the day before' as a date") && bad.stderr.contains("2.hours.ago"))
    }

    @Test func columnsAndTheHostColumn() throws {
        let (repo, runs, far) = try Self.repositoryWithTwoHosts()
        let table = try Tool.run(["log"], in: repo).stdout.split(separator: "\n").map(String.init)
        #expect(table[0].split(separator: " ") == ["RUN", "COMMIT", "STATUS", "SCORE", "DELTA", "DURATION", "HOST", "DESCRIPTION"])
        #expect(table[5].contains(" far ") && table[5].hasSuffix("far away"))
        let local = try Tool.run(["log", "--host", runs[0].outcome.record.host], in: repo).stdout
        #expect(!local.contains("HOST"), "one host listed: no host column")

        let tsv = try Tool.run(["log", "--format", "tsv", "--columns", "run,m.peak_mb", "--columns", "worker,host,status", "--grep", "far|seven"], in: repo)
        #expect(tsv.stdout.split(separator: "\n") == ["run\tm.peak_mb\tworker\thost\tstatus",
                                                     "\(runs[2].outcome.record.run)\t200\t\t\(runs[0].outcome.record.host)\tdiscard",
                                                     "\(far)\t200\t2\tfar\tdiscard"], "exact cells: \(tsv.stdout)")
        let human = try Tool.run(["log", "--format", "tsv", "--human", "--columns", "commit,worker,status,duration", "--host", "far"], in: repo)
        #expect(human.stdout.contains("\n\(runs[2].outcome.commit.short)\t2\tdiscard!\t") && !human.stdout.contains(runs[2].outcome.commit.hex), "the table's text, marks included: \(human.stdout)")
        let bad = try Tool.run(["log", "--columns", "run,colour"], in: repo)
        #expect(bad.status == 1 && bad.stderr.contains("unknown column 'colour'") && bad.stderr.contains("m.NAME"))
    }
}

/// git's date forms as `log --since/--until` reads them.
@Suite(.ownThreads) struct ApproxDateTests {
    let utc = TimeZone(secondsFromGMT: 0)!
    let now = Date(timeIntervalSince1970: 1_795_995_200)  // 2026-11-29T23:33:20Z

    func iso(_ text: String, in zone: TimeZone? = nil) throws -> String {
        RunRecord.timestamp(try ApproxDate.parse(text, now: now, timeZone: zone ?? utc))
    }

    @Test func isoDatesAndTimes() throws {
        #expect(try iso("2026-11-30") == "2026-11-30T00:00:00.000Z")
        #expect(try iso("2026-11-30 14:00") == "2026-11-30T14:00:00.000Z")
        #expect(try iso("2026-11-30T14:00:05Z") == "2026-11-30T14:00:05.000Z")
        #expect(try iso("2026-11-30T14:00:05.250Z") == "2026-11-30T14:00:05.250Z")
        #expect(try iso("2026-11-30 14:00:00 +0200") == "2026-11-30T12:00:00.000Z")
        #expect(try iso("2026-11-30T14:00:00-05:30") == "2026-11-30T19:30:00.000Z")
        #expect(try iso("2026-11-30 14:00", in: TimeZone(secondsFromGMT: 3600)) == "2026-11-30T13:00:00.000Z", "local time without an offset")
        #expect(try iso("@1795995200") == "2026-11-29T23:33:20.000Z")
        for bad in ["2026-13-01", "2026-02-30", "2026-11-30 25:00", "30/11/2026", "2026-11", ""] {
            #expect(throws: AutoresearchError.self, "\(bad)") { try ApproxDate.parse(bad, now: now, timeZone: utc) }
        }
    }

    @Test func relativeDates() throws {
        #expect(try iso("now") == "2026-11-29T23:33:20.000Z")
        #expect(try iso("today") == "2026-11-29T23:33:20.000Z")
        #expect(try iso("yesterday") == "2026-11-28T23:33:20.000Z")
        #expect(try iso("2.hours.ago") == "2026-11-29T21:33:20.000Z")
        #expect(try iso("1 hour ago") == "2026-11-29T22:33:20.000Z")
        #expect(try iso("30.minutes.ago") == "2026-11-29T23:03:20.000Z")
        #expect(try iso("45 seconds ago") == "2026-11-29T23:32:35.000Z")
        #expect(try iso("3.days.ago") == "2026-11-26T23:33:20.000Z")
        #expect(try iso("2.weeks.ago") == "2026-11-15T23:33:20.000Z")
        #expect(try iso("1.month.ago") == "2026-10-29T23:33:20.000Z")
        #expect(try iso("1 year ago") == "2025-11-29T23:33:20.000Z")
        #expect(try iso("yesterday.noon") == "2026-11-28T12:00:00.000Z")
        #expect(try iso("today midnight") == "2026-11-29T00:00:00.000Z")
        #expect(try iso("Yesterday") == "2026-11-28T23:33:20.000Z")
        for bad in ["2.fortnights.ago", "two.hours.ago", "hours ago", "tomorrow", "noon noon", "2 hours"] {
            #expect(throws: AutoresearchError.self, "\(bad)") { try ApproxDate.parse(bad, now: now, timeZone: utc) }
        }
    }
}
