import Autoresearch
import Foundation
import Testing
import Fixtures

/// A repository with experiment `s`: `sh eval.sh` does what `candidate.txt` says
/// (`value N` prints `score: N`, `crash`, `hang` with a child that ignores SIGTERM and writes its
/// pid to `$PIDFILE`, by default `child.pid`, `silent`). `timeout` is the hard limit in seconds:
/// by default far above a trivial evaluation even on a loaded machine (tests run side by side).
func scenarioRepository(timeout: Double = 20) throws -> TempRepository {
    let repo = try TempRepository()
    try repo.commitFiles([
        "eval.sh": """
        read kind arg < candidate.txt
        case "$kind" in
          value) echo "training..."; echo "score: $arg" ;;
          crash) echo "boom" >&2; exit 2 ;;
          hang) sh -c 'trap "" TERM; echo $$ > "${PIDFILE:-child.pid}"; while :; do sleep 0.1; done' &
                trap '' TERM; while :; do sleep 0.1; done ;;
          silent) echo "no metric here" ;;
        esac

        """,
        "candidate.txt": "value 10\n",
        ".gitignore": "*.pid\n",
    ], message: "project")
    try repo.initialize {
        $0.evaluate = "sh eval.sh"
        $0.metric = "score"
        $0.direction = .lower
        $0.budget = 1
        $0.timeout = timeout
        $0.grace = 0.3
    }
    return repo
}

extension TempRepository {
    /// Sets `experiment.NAME.KEY` in the committed `.autoresearch`, as a user editing it by hand.
    func commitExperimentSetting(_ key: String, _ value: String, experiment: String = "s") throws {
        try git(["config", "-f", ".autoresearch", "experiment.\(experiment).\(key)", value])
        try git(["commit", "-qam", "set \(key)"])
    }
}

/// The run's JSON object printed by `run --format json`.
func runJSON(_ repo: TempRepository, _ arguments: [String] = [], environment: [String: String] = [:]) throws -> (status: Int32, object: [String: Any]) {
    let output = try Tool.run(["run", "--format", "json"] + arguments, in: repo, environment: environment)
    let object = (try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8))) as? [String: Any] ?? [:]
    return (output.status, object)
}

/// A run in progress after the baseline, its evaluator hanging (a child that ignores SIGTERM
/// writes its pid to child.pid), hit by `signal` once the evaluator started.
struct SignalledRun {
    let repo: TempRepository
    /// The best commit before the hanging run.
    let best: String
    /// The tool's exit status (128 + signal when it was killed).
    let toolStatus: Int32
    /// The evaluator's child.
    let child: Int32

    init(signal: Int32) throws {
        let repo = try scenarioRepository(timeout: 60)
        try repo.runIteration()
        best = try repo.gitLine("rev-parse", "HEAD")
        try repo.write("candidate.txt", "hang\n")
        let tool = try Tool.start(["run"], in: repo, environment: ["PIDFILE": repo.path + "/child.pid"])
        child = try #require(repo.waitForPid("child.pid"))
        kill(tool.pid, signal)
        toolStatus = tool.wait()
        self.repo = repo
    }
}

@Suite(.ownThreads) struct ScenarioTests {
    @Test func initBaselineKeepDiscardCrashTimeoutNoMetric() throws {
        let repo = try scenarioRepository(timeout: 2)
        #expect(try repo.gitLine("symbolic-ref", "HEAD") == "refs/heads/autoresearch/s")
        #expect(try repo.gitLine("config", "--get", "notes.displayRef") == "refs/notes/autoresearch")
        #expect(try repo.gitLine("config", "-f", ".autoresearch", "experiment.s.metric") == "score")

        let baseline = try runJSON(repo)
        #expect(baseline.status == 0)
        #expect(baseline.object["baseline"] as? Bool == true)
        #expect(baseline.object["value"] as? Double == 10)

        try repo.write("candidate.txt", "value 5\n")
        try repo.write("kept-new.txt", "part of the kept change\n")
        let keep = try runJSON(repo, ["-m", "better"])
        #expect(keep.status == 0)
        #expect(keep.object["status"] as? String == "keep")
        let best = try #require(keep.object["commit"] as? String)
        #expect(try repo.gitLine("rev-parse", "autoresearch/s") == best)
        #expect(try repo.gitLine("log", "-1", "--format=%s", best) == "better")

        try repo.write("candidate.txt", "value 7\n")
        try repo.write("junk/new-file.txt", "new in the worse candidate\n")
        let discard = try runJSON(repo, ["-m", "worse"])
        #expect(discard.status == 10)
        #expect(discard.object["status"] as? String == "discard")
        #expect(discard.object["best_before"] as? Double == 5)
        let discarded = try #require(discard.object["commit"] as? String)
        #expect(try repo.gitLine("rev-parse", "autoresearch/s") == best)
        #expect(try repo.gitLine("rev-parse", "HEAD") == best)
        #expect(repo.read("candidate.txt") == "value 5\n")
        #expect(!repo.exists("junk/new-file.txt"))
        #expect(repo.exists("kept-new.txt"))
        #expect(try repo.gitLine("status", "--porcelain") == "")
        try repo.git(["merge-base", "--is-ancestor", discarded, "refs/autoresearch/s/attempts"])
        #expect(try repo.gitLine("show", "\(discarded):candidate.txt") == "value 7")

        try repo.write("candidate.txt", "crash\n")
        let crash = try runJSON(repo)
        #expect(crash.status == 11)
        #expect(crash.object["exit"] as? Int == 2)

        let pidFile = repo.path + "/child.pid"
        try repo.write("candidate.txt", "hang\n")
        let started = Date()
        let timeout = try runJSON(repo, environment: ["PIDFILE": pidFile])
        #expect(timeout.status == 12)
        #expect(Date().timeIntervalSince(started) < 15)
        let child = try #require(repo.waitForPid("child.pid"))
        #expect(waitUntil(seconds: 2) { !processExists(child) }, "the child that ignores SIGTERM must be gone")

        try repo.write("candidate.txt", "silent\n")
        let silent = try runJSON(repo)
        #expect(silent.status == 13)
        #expect((silent.object["reason"] as? String)?.contains("score") == true)

        #expect(try repo.gitLine("rev-parse", "HEAD") == best)
        #expect(try repo.gitLine("status", "--porcelain") == "")
        try repo.fsck()

        let log = try repo.git(["log", "--notes=autoresearch", "autoresearch/s"])
        #expect(log.contains("Notes (autoresearch):"))
        #expect(log.contains("status=keep metric=score value=5 best_before=10"))
        let notes = try repo.git(["notes", "--ref=autoresearch", "list"]).split(separator: "\n")
        #expect(notes.count == 6)
        var lines: [String] = []
        for note in notes {
            let object = String(note.split(separator: " ")[1])
            lines += try repo.git(["notes", "--ref=autoresearch", "show", object]).split(separator: "\n").map(String.init)
        }
        // Each record is followed by its log lines (`log=NNN run=RUN text=...`).
        lines = lines.filter { !$0.hasPrefix("log=") }
        #expect(lines.count == 6)
        for status in ["keep", "discard", "crash", "timeout", "no-metric"] {
            #expect(lines.contains { $0.contains("status=\(status) ") }, "a \(status) record")
        }
        let status = try Tool.run(["status", "--format", "json"], in: repo)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect(object["runs"] as? Int == 6)
        #expect(object["best_commit"] as? String == best)
        #expect((object["counts"] as? [String: Int]) == ["keep": 2, "discard": 1, "crash": 1, "timeout": 1, "no-metric": 1])
    }

    @Test func nothingToEvaluateWhenTheTreeIsAtTheBest() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        let again = try Tool.run(["run"], in: repo)
        #expect(again.status == 14)
        #expect(again.stdout.contains("nothing to evaluate"))
    }

    @Test func aCommitMadeOnTheBranchIsEvaluatedAsItIs() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        try repo.commitFiles(["candidate.txt": "value 3\n"], message: "agent: lower it")
        let committed = try repo.gitLine("rev-parse", "HEAD")
        let run = try repo.runIteration()
        #expect(run.status == .keep)
        #expect(run.commit == committed)
        #expect(run.outcome.record.description == "agent: lower it", "\(run.record)")
    }

    @Test func userWorkOnAnotherBranchIsNeverTouched() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        try repo.git(["switch", "-q", "main"])
        try repo.write("candidate.txt", "my unfinished work\n")
        try repo.write("notes/untracked.txt", "my new file\n")
        try repo.git(["add", "notes/untracked.txt"])
        try repo.write("scratch.txt", "untracked and unstaged\n")
        let before = try repo.git(["status", "--porcelain"])
        let mainBefore = try repo.gitLine("rev-parse", "main")

        let error = failure { try repo.runIteration() }
        #expect(error.contains("uncommitted changes"))
        #expect(error.contains("hint:"))
        #expect(try repo.git(["status", "--porcelain"]) == before)
        #expect(repo.read("candidate.txt") == "my unfinished work\n")
        #expect(repo.read("notes/untracked.txt") == "my new file\n")
        #expect(repo.read("scratch.txt") == "untracked and unstaged\n")
        #expect(try repo.gitLine("symbolic-ref", "HEAD") == "refs/heads/main")
        #expect(try repo.gitLine("rev-parse", "main") == mainBefore)
        #expect(try repo.git(["stash", "list"]).isEmpty)
        #expect(try repo.git(["notes", "--ref=autoresearch", "list"]).split(separator: "\n").count == 1)
    }

    @Test func aCleanTreeOnAnotherBranchSwitchesToTheExperiment() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        try repo.git(["switch", "-q", "main"])
        let events = RecordedEvents()
        let result = try repo.workspace().runOnce(experiment: "s", events: events.events)
        guard case .nothingToEvaluate = result else { Issue.record("a run: \(result)"); return }
        #expect(events.noticed("switched to branch autoresearch/s"), "\(events.notices)")
        #expect(try repo.gitLine("symbolic-ref", "HEAD") == "refs/heads/autoresearch/s")
    }

    @Test func ctrlCDuringTheEvaluationRecordsAnInterruptedRunAndResets() throws {
        let run = try SignalledRun(signal: SIGINT)
        let repo = run.repo
        #expect(run.toolStatus == 130)
        #expect(waitUntil(seconds: 2) { !processExists(run.child) })
        #expect(try repo.gitLine("rev-parse", "HEAD") == run.best)
        #expect(repo.read("candidate.txt") == "value 10\n")
        #expect(try repo.git(["log", "--notes=autoresearch", "refs/autoresearch/s/attempts"]).contains("status=interrupted"))
        try repo.fsck()
    }

    @Test func killMinus9DuringTheEvaluationIsRepairedByTheNextCommand() throws {
        let run = try SignalledRun(signal: SIGKILL)
        let repo = run.repo
        let child = run.child, best = run.best
        #expect(run.toolStatus == 128 + SIGKILL)
        #expect(waitUntil(seconds: 30) { !processExists(child) }, "the watchdog stops the evaluation of a killed tool")
        #expect(try repo.gitLine("rev-parse", "HEAD") != best)

        let status = try Tool.run(["status"], in: repo)
        #expect(status.status == 0)
        #expect(status.stderr.contains("repaired an unfinished run"))
        #expect(try repo.gitLine("rev-parse", "HEAD") == best)
        #expect(try repo.gitLine("status", "--porcelain") == "")
        #expect(try repo.git(["log", "--notes=autoresearch", "refs/autoresearch/s/attempts"]).contains("status=interrupted"))
        #expect(!FileManager.default.fileExists(atPath: repo.path + "/.git/autoresearch/s/iteration"))
        #expect(!(try Tool.run(["status"], in: repo).stderr.contains("repaired")))
        try repo.fsck()
    }

    @Test func repairSavesWorkTreeEditsMadeAfterTheKillBeforeResetting() throws {
        let repo = try SignalledRun(signal: SIGKILL).repo
        try repo.write("candidate.txt", "value 1 -- edited by hand after the crash\n")
        let output = try Tool.run(["run"], in: repo)
        #expect(output.stderr.contains("work-tree changes saved as"))
        let saved = try #require(output.stderr.components(separatedBy: "saved as ").last?.split(separator: " ").first, "\(output.stderr)")
        #expect(try repo.gitLine("show", "\(saved):candidate.txt") == "value 1 -- edited by hand after the crash")
        try repo.git(["merge-base", "--is-ancestor", String(saved), "refs/autoresearch/s/attempts"])
        #expect(output.status == 14)
        try repo.fsck()
    }

    @Test func reconfiguringTheExperimentStartsANewBaseline() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        #expect(try repo.runCandidate("value 5\n").status == .keep)
        let reinit = try repo.initialize { $0.evaluate = "sh eval.sh; echo extra" }
        #expect(!reinit.created, "the experiment is updated")
        #expect(reinit.configCommit != nil)
        let configured = try repo.gitLine("rev-parse", "HEAD")
        let rerun = try repo.runCandidate("value 8\n")
        #expect(rerun.status == .keep)
        #expect(rerun.notices.contains { $0.contains("this run measures a new baseline") }, "\(rerun.notices)")
        #expect(rerun.outcome.record.isBaseline)
        #expect(try repo.git(["merge-base", "--is-ancestor", configured, "HEAD"]).isEmpty)
        #expect(try repo.gitLine("config", "-f", ".autoresearch", "experiment.s.evaluate") == "sh eval.sh; echo extra")
    }

    @Test func untrackedFilesLeftByTheEvaluatorAreReported() throws {
        let repo = try scenarioRepository()
        try repo.commitExperimentSetting("evaluate", "sh eval.sh; echo out > result.txt")
        let run = try repo.runIteration()
        #expect(run.status == .keep)
        #expect(run.notices.contains { $0.contains("untracked files after the evaluation (result.txt)") }, "\(run.notices)")
    }

    /// New files are looked for before a discard's reset, which moves the times of the
    /// directories it writes into: one the evaluation left is reported; one the candidate deleted
    /// and the evaluation wrote again is not, since the reset put back the base's.
    @Test func filesTheEvaluatorOfADiscardLeftAreReportedButNotOnesTheResetPutBack() throws {
        let repo = try scenarioRepository()
        // The files are not named in the command (which guards the files it names).
        try repo.commitFiles(["data/kept.txt": "base\n",
                              "write.sh": "grep -q 'value 9' candidate.txt || exit 0\nmkdir -p data\nfor name in result kept; do echo out > data/$name.txt; done\n"],
                             message: "data")
        try repo.commitExperimentSetting("evaluate", "sh eval.sh; sh write.sh")
        try repo.runIteration()
        try repo.git(["rm", "-q", "data/kept.txt"])
        let run = try repo.runCandidate("value 90\n")
        #expect(run.status == .discard, "\(run.outcome.record.reason ?? "")")
        #expect(run.notices.contains { $0.contains("untracked files after the evaluation (data/result.txt)") }, "\(run.notices)")
        #expect(try repo.read("data/kept.txt") == "base\n")
        #expect(try repo.git(["status", "--porcelain"]) == "?? data/result.txt\n")
    }

    @Test func listShowsEveryExperimentWithItsRunsAndBest() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        #expect(try repo.runCandidate("value 4\n").status == .keep)
        try repo.git(["switch", "-q", "main"])
        try repo.initialize("t") {
            $0.evaluate = "echo 'score: 3'"
            $0.metric = "score"
            $0.direction = .higher
        }
        try repo.runIteration(experiment: "t")
        let output = try Tool.run(["list", "--format", "json"], in: repo)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["experiment"] as? String } == ["s", "t"])
        #expect(rows.map { $0["runs"] as? Int } == [2, 1])
        #expect(rows.map { $0["best_value"] as? Double } == [4, 3])
        let text = try Tool.run(["list"], in: repo).stdout
        #expect(text.contains("score ↓") && text.contains("score ↑"))
        // For scripts: the JSON's fields, one per column, exact.
        let tsv = try Tool.run(["list", "--long", "--format", "tsv"], in: repo).stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(tsv.first?.prefix(4) == ["experiment", "metric", "direction", "runs"], "\(tsv)")
        #expect(tsv.dropFirst().map { Array($0.prefix(8)) } == [["s", "score", "lower", "2", "2", "10", "4", "0.6"],
                                                                  ["t", "score", "higher", "1", "1", "3", "3", "0"]], "\(tsv)")
    }

    @Test func aSecondRunWhileOneIsGoingIsRefusedNamingTheHolder() throws {
        let repo = try scenarioRepository(timeout: 60)
        try repo.write("candidate.txt", "hang\n")
        let tool = try Tool.start(["run"], in: repo, environment: ["PIDFILE": repo.path + "/child.pid"])
        defer { kill(tool.pid, SIGINT); tool.wait() }
        #expect(repo.waitForPid("child.pid") != nil)
        let second = try Tool.run(["run"], in: repo)
        #expect(second.status == 1)
        #expect(second.stderr.contains("process \(tool.pid) holds its lock"))
    }
}

@Suite(.ownThreads) struct InputErrorTests {
    @Test func initValidatesItsFlags() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["a": "1\n"])
        let cases: [([String], Int32, String)] = [
            (["--name", "x", "--metric", "m"], 1, "needs an evaluate command"),
            (["--name", "bad name", "--eval", "true", "--metric", "m"], 1, "invalid experiment name"),
            (["--name", "x", "--eval", "true", "--metric", "m", "--budget", "soon"], 1, "invalid duration 'soon'"),
            (["--name", "x", "--eval", "true", "--metric", "m", "--direction", "up"], 64, "must be 'lower' or 'higher'"),
            (["--name", "x", "--eval", "true", "--metric", "m", "--budget", "5m", "--timeout", "1m"], 1, "shorter than its budget"),
        ]
        for (arguments, status, message) in cases {
            let output = try Tool.run(["init"] + arguments, in: repo)
            #expect(output.status == status, "\(arguments): \(output.stderr)")
            #expect(output.stderr.contains(message), "\(arguments): \(output.stderr)")
        }
        #expect(try repo.git(["branch", "--list", "autoresearch/*"]).isEmpty)
        #expect(try repo.gitLine("status", "--porcelain") == "")
    }

    @Test func initRefusesUncommittedWork() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["a": "1\n"])
        try repo.write("evaluate.py", "print('metric: 1')\n")
        let error = failure {
            try repo.initialize("x") {
                $0.evaluate = "python3 evaluate.py"
                $0.metric = "metric"
            }
        }
        #expect(error.contains("uncommitted changes: evaluate.py"), "\(error)")
        #expect(repo.read("evaluate.py") == "print('metric: 1')\n")
    }

    @Test func unknownExperimentAndNoRepositoryGiveHints() throws {
        let repo = try scenarioRepository()
        let unknown = try Tool.run(["run", "--experiment", "nope"], in: repo)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown experiment 'nope'"))
        #expect(unknown.stderr.contains("known experiments: s"))
        let outside = try runProgram(Tool.path, ["status"], in: "/")
        #expect(outside.status == 1)
        #expect(outside.stderr.contains("not a git repository"))
    }

    @Test func aMalformedCommittedConfigIsReportedWithItsField() throws {
        let repo = try scenarioRepository()
        try repo.commitExperimentSetting("direction", "sideways")
        let error = failure { try repo.runIteration() }
        #expect(error.contains("invalid direction 'sideways'"), "\(error)")
        #expect(error.contains("hint: use 'lower' or 'higher'"), "\(error)")
    }

    @Test func aNaNMetricIsNoMetricNotAPass() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        let nan = try repo.runCandidate("value nan\n")
        #expect(nan.status == .noMetric)
        #expect(nan.outcome.record.reason?.contains("not a finite number") == true, "\(nan.record)")
    }

    @Test func metricFromAJSONFileAndAStaleFileNeverPasses() throws {
        let repo = try TempRepository()
        try repo.commitFiles([
            "eval.sh": "if [ -f write ]; then echo '{\"ok\": true, \"result\": {\"score\": 0.75}}' > out/metrics.json; fi\n",
            ".gitignore": "out/\n", "out/.keep": "",
        ])
        try repo.git(["add", "-f", "out/.keep"])
        try repo.git(["commit", "-qm", "keep out/"])
        try repo.initialize("j") {
            $0.evaluate = "sh eval.sh"
            $0.metric = "score"
            $0.metricFile = "out/metrics.json"
            $0.metricKey = "result.score"
            $0.direction = .higher
        }
        try repo.write("out/metrics.json", "{\"result\": {\"score\": 99}}")
        let stale = try repo.runIteration(experiment: "j")
        #expect(stale.status == .noMetric)
        #expect(stale.outcome.record.reason?.contains("was not written") == true, "\(stale.record)")
        try repo.write("write", "")
        let fresh = try repo.runIteration(experiment: "j")
        #expect(fresh.status == .keep)
        #expect(fresh.outcome.record.value == 0.75)
    }
}
