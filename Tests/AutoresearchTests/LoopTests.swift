import Autoresearch
import Foundation
import Testing
import Fixtures

extension TempRepository {
    /// Writes an agent script under the git directory (outside the work tree, so it is never part
    /// of a candidate) and returns the command that runs it (by absolute path: parallel workers
    /// run it from their own work trees).
    func agent(_ script: String, name: String = "agent.sh") throws -> String {
        try script.write(toFile: path + "/.git/\(name)", atomically: true, encoding: .utf8)
        return "sh \(path)/.git/\(name)"
    }

    /// The records of experiment `s` in the ledger, read with the git CLI.
    func ledgerLines() throws -> [String] {
        try allLedgerLines().filter { $0.contains(" experiment=s ") }
    }

    /// Every record in the ledger, read with the git CLI.
    func allLedgerLines() throws -> [String] { try Fixtures.ledgerLines(of: path) }
}

/// The JSON lines `loop --format json` printed: the runs, then the summary.
func loopJSON(_ repo: TempRepository, _ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, runs: [[String: Any]], summary: [String: Any], stderr: String) {
    let output = try Tool.run(["loop", "--format", "json"] + arguments, in: repo, environment: environment)
    return parseLoopOutput(output)
}

func parseLoopOutput(_ output: ProcessOutput) -> (status: Int32, runs: [[String: Any]], summary: [String: Any], stderr: String) {
    let objects = output.stdout.split(separator: "\n").compactMap {
        (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
    }
    return (output.status, objects.filter { $0["type"] as? String == "run" },
            objects.last { $0["type"] as? String == "summary" } ?? [:], output.stderr)
}

/// A loop whose agent (or evaluator) hangs with a child that ignores SIGTERM and writes its pid
/// to `child.pid` (ignored by git), hit by `signal` once that child runs.
struct SignalledLoop {
    let repo: TempRepository
    let best: String
    let toolStatus: Int32
    let child: Int32
    let output: ProcessOutput

    /// `duringAgent`: the agent edits candidate.txt, adds a file, then hangs; otherwise the agent
    /// asks the evaluator to hang. `userFile`: an untracked file (`mine`) the user placed before the loop.
    init(signal: Int32, duringAgent: Bool, userFile: String? = nil) throws {
        let repo = try scenarioRepository(timeout: 60)
        try repo.runIteration()
        best = try repo.gitLine("rev-parse", "HEAD")
        let hang = """
        echo "value 1" > candidate.txt
        echo "half-written idea" > idea.txt
        sh -c 'trap "" TERM; echo $$ > child.pid; while :; do sleep 0.1; done' &
        trap '' TERM; while :; do sleep 0.1; done

        """
        let agent = try repo.agent(duringAgent ? hang : "echo hang > candidate.txt\n")
        if let userFile { try repo.write(userFile, "mine\n") }
        let tool = try Tool.start(["loop", "--agent", agent], in: repo, environment: ["PIDFILE": repo.path + "/child.pid"])
        child = try #require(repo.waitForPid("child.pid"))
        kill(tool.pid, signal)
        output = tool.output()
        toolStatus = output.status
        try FileManager.default.removeItem(atPath: repo.path + "/child.pid")
        self.repo = repo
    }

    /// Checks what every stopped run must leave, once stopped or repaired: the branch and work
    /// tree at the best commit, one `interrupted` record, `git fsck --strict` clean. Returns the record.
    @discardableResult
    func expectBackAtBest() throws -> String {
        #expect(try repo.gitLine("rev-parse", "HEAD") == best)
        #expect(try repo.gitLine("status", "--porcelain") == "")
        let interrupted = try repo.ledgerLines().filter { $0.contains("status=interrupted") }
        #expect(interrupted.count == 1)
        try repo.fsck()
        return interrupted.first ?? ""
    }

    /// The commit the attempts chain linked last.
    func lastAttempt() throws -> String {
        try repo.gitLine("log", "-1", "--format=%p", "refs/autoresearch/s/attempts").split(separator: " ").last.map(String.init) ?? ""
    }
}

@Suite(.ownThreads) struct LoopTests {
    /// Iteration i of the scripted agent (1 is the baseline, without agent), by i % 5:
    /// 0 improves (uncommitted, with a description), 1 worsens, 2 breaks the evaluator's input,
    /// 3 changes nothing, 4 improves and commits by itself.
    static let scriptedAgent = """
    i=$AUTORESEARCH_ITERATION
    echo "$i $(($(wc -l < "$AUTORESEARCH_HISTORY") - 1)) $AUTORESEARCH_BEST" >> .git/seen.txt
    test -f "$AUTORESEARCH_PROMPT" || exit 9
    case $((i % 5)) in
      0) echo "value $((100 - i))" > candidate.txt; echo "improve to $((100 - i))" > "$AUTORESEARCH_DESCRIPTION_FILE" ;;
      1) echo "value 1000" > candidate.txt; echo "new file $i" > "notes-$i.txt" ;;
      2) echo crash > candidate.txt ;;
      3) : ;;
      4) echo "value $((100 - i))" > candidate.txt; git commit -qam "agent commit $i" ;;
    esac

    """

    static func expectedStatus(iteration: Int) -> String {
        if iteration == 1 { return "keep" }
        return ["keep", "discard", "crash", "noop", "keep"][iteration % 5]
    }

    @Test func twentyIterationsWithAScriptedAgent() throws {
        let repo = try scenarioRepository()
        try repo.commitFiles(["candidate.txt": "value 100\n"], message: "start at 100")
        let agent = try repo.agent(Self.scriptedAgent)
        let loop = try repo.loop(agent: agent) { $0.maxRuns = 20 }
        #expect(loop.runs.count == 20)
        #expect(loop.summary.stop == .maxRuns)
        #expect(loop.statuses == (1...20).map { Self.expectedStatus(iteration: $0) })

        // Every run has exactly one record, and nothing else is recorded.
        let runIDs = loop.records.map(\.run)
        #expect(Set(runIDs).count == 20)
        let lines = try repo.ledgerLines()
        #expect(lines.count == 20)
        for id in runIDs { #expect(lines.filter { $0.contains("run=\(id) ") }.count == 1, "run \(id)") }

        // The branch tip is the best commit: the last keep (iteration 20, value 80, described by the agent).
        let lastKeep = try #require(loop.runs.last { $0.record.status == .keep })
        let best = lastKeep.commit.hex
        #expect(try repo.gitLine("rev-parse", "autoresearch/s") == best)
        #expect(try repo.gitLine("rev-parse", "HEAD") == best)
        #expect(lastKeep.record.value == 80)
        #expect(try repo.gitLine("log", "-1", "--format=%s", best) == "improve to 80")
        // The commit the agent made itself is the candidate as it is.
        #expect(try repo.gitLine("log", "-1", "--format=%s", "\(best)^") == "agent commit 19")
        #expect(loop.records[18].description == "agent commit 19")
        #expect(repo.read("candidate.txt") == "value 80\n")
        #expect(try repo.gitLine("status", "--porcelain") == "")
        #expect(loop.summary.best?.commit.hex == best)
        #expect(loop.summary.baseline?.value == 100)
        #expect(loop.summary.improvement == 0.2)
        #expect(loop.records[14].description == "improve to 85")

        // Discarded and crashed candidates stay reachable, with their files.
        for run in loop.runs where [.discard, .crash].contains(run.record.status) {
            try repo.git(["merge-base", "--is-ancestor", run.commit.hex, "refs/autoresearch/s/attempts"])
        }
        #expect(try repo.gitLine("show", "\(loop.runs[5].commit.hex):notes-6.txt") == "new file 6")
        #expect(!repo.exists("notes-6.txt"))

        // The agent saw the history grow by one row per run, no-ops included, and the best value.
        let seen = try #require(try String(contentsOfFile: repo.path + "/.git/seen.txt", encoding: .utf8))
            .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(seen.count == 19)
        for row in seen { #expect(Int(row[1]) == Int(row[0])! - 1, "history rows seen at iteration \(row[0])") }
        #expect(seen[4] == ["6", "5", "95.0"])
        try repo.fsck()
    }

    @Test func theHistoryAndPromptHandedToTheAgent() throws {
        let repo = try scenarioRepository()
        try repo.commitFiles(["program.md": "Make the score small.\n"], message: "program")
        try repo.commitExperimentSetting("program", "program.md")
        let agent = try repo.agent("""
        cp "$AUTORESEARCH_PROMPT" .git/prompt-copy.md
        cp "$AUTORESEARCH_HISTORY" .git/history-copy.tsv
        echo "value 4" > candidate.txt
        printf 'try\tfo|ur\n' > "$AUTORESEARCH_DESCRIPTION_FILE"

        """)
        let loop = try repo.loop(agent: agent) { $0.maxRuns = 3 }
        #expect(loop.statuses == ["keep", "keep", "noop"])
        #expect(loop.records[1].description == "try\tfo|ur")
        let prompt = try String(contentsOfFile: repo.path + "/.git/prompt-copy.md", encoding: .utf8)
        #expect(prompt.hasPrefix("Make the score small.\n"))
        #expect(prompt.contains("Best so far: score = 4 at commit"))
        // The tab (a column separator of the history) and the pipe (of the prompt's table) escaped.
        #expect(prompt.contains("| try fo\\|ur |"), "\(prompt)")
        let history = try String(contentsOfFile: repo.path + "/.git/history-copy.tsv", encoding: .utf8).split(separator: "\n")
        #expect(history.first == "commit\tscore\tstatus\tdescription\trun")
        #expect(history.count == 3)
        #expect(history.last?.hasSuffix("\t4\tkeep\ttry fo|ur\t\(loop.records[1].run)") == true, "\(history)")
    }

    @Test func loopWithoutAnAgentExplainsRunVersusLoop() throws {
        let repo = try scenarioRepository()
        let error = failure { _ = try repo.loop(agent: nil) }
        #expect(error.contains("has no agent"), "\(error)")
        #expect(error.contains("--agent"))
        #expect(error.contains("git autoresearch run"))

        // Usage errors of the command line.
        let zeroRuns = try Tool.run(["loop", "--agent", "true", "--max-runs", "0"], in: repo)
        #expect(zeroRuns.status == 64)
        #expect(zeroRuns.stderr.contains("--max-runs must be at least 1"))
        let badTime = try Tool.run(["loop", "--agent", "true", "--max-time", "soon"], in: repo)
        #expect(badTime.status == 1)
        #expect(badTime.stderr.contains("invalid duration 'soon'"))
    }

    @Test func patienceStopsAfterRunsWithoutImprovement() throws {
        let repo = try scenarioRepository()
        let agent = try repo.agent("echo \"value $((20 + AUTORESEARCH_ITERATION))\" > candidate.txt\n")
        let loop = try repo.loop(agent: agent) { $0.patience = 3 }
        #expect(loop.summary.stop == .patience)
        #expect(loop.statuses == ["keep", "discard", "discard", "discard"])
    }

    @Test func maxCrashesCountsFailuresInARowIncludingAgentErrors() throws {
        let repo = try scenarioRepository()
        let agent = try repo.agent("""
        if [ $((AUTORESEARCH_ITERATION % 2)) = 0 ]; then echo crash > candidate.txt; else echo "agent broke" >&2; exit 3; fi

        """)
        let loop = try repo.loop(agent: agent) { $0.maxCrashes = 3 }
        #expect(loop.summary.stop == .maxCrashes)
        #expect(loop.statuses == ["keep", "crash", "agent-error", "crash"])
        #expect(loop.records[2].exitCode == 3)
        #expect(try repo.ledgerLines().contains { $0.contains("status=agent-error") && $0.contains("exit=3") })
        #expect(try repo.gitLine("status", "--porcelain") == "")

        // The binary's exit status and summary.
        let text = try Tool.run(["loop", "--agent", agent, "--max-crashes", "2"], in: repo)
        #expect(text.status == 22)
        #expect(text.stdout.contains("Stopped: 2 failures in a row (--max-crashes)"))
        #expect(text.stdout.contains("agent broke"), "the end of the agent's log is shown")
    }

    @Test func maxTimeStartsNoRunAfterTheLimit() throws {
        let repo = try scenarioRepository()
        let agent = try repo.agent("sleep 0.4; echo \"value $((20 + AUTORESEARCH_ITERATION))\" > candidate.txt\n")
        let started = Date()
        let loop = try repo.loop(agent: agent) { $0.maxTime = 1 }
        #expect(loop.summary.stop == .maxTime)
        #expect((1...5).contains(loop.runs.count))
        #expect(Date().timeIntervalSince(started) < 60)
    }

    @Test func anAgentLimitStopsAHangingAgent() throws {
        let repo = try scenarioRepository()
        let agent = try repo.agent("echo thinking; sleep 30\n")
        let loop = try repo.loop(agent: agent) {
            $0.agentTimeout = 0.5
            $0.maxRuns = 2
        }
        #expect(loop.summary.stop == .maxRuns)
        #expect(loop.statuses.last == "agent-error")
        #expect(loop.records.last?.reason?.contains("limit of 500ms") == true, "\(loop.records)")
    }

    @Test func theEvaluatorLeavingFilesStopsTheLoopWithAHint() throws {
        let repo = try scenarioRepository()
        try repo.commitFiles(["eval.sh": "echo out > output.bin; echo 'score: 1'\n"], message: "evaluator writes a file")
        let agent = try repo.agent("echo change >> candidate.txt\n")
        let error = failure { _ = try repo.loop(agent: agent) { $0.maxRuns = 5 } }
        #expect(error.contains("output.bin"), "\(error)")
        #expect(error.contains(".gitignore"), "\(error)")
    }

    /// After a discard the loop takes the reset's word that the work tree is clean (no status
    /// before the agent step): the files the evaluation of a discarded candidate left, even in
    /// a new directory, still stop the loop; the user's untracked files do not.
    @Test func filesAnEvaluationLeftBeforeADiscardStopTheLoop() throws {
        let repo = try scenarioRepository()
        try repo.commitFiles(["eval.sh": """
            read kind arg < candidate.txt
            if [ -f .git/leave-logs ]; then mkdir -p logs; echo trace > logs/run.txt; fi
            echo "score: $arg"

            """], message: "an evaluator that may leave a log")
        try repo.write("notes.md", "the user's\n")
        // Run 1 the baseline; runs 2 and 3 discards, the evaluation of run 3 leaves logs/run.txt.
        let agent = try repo.agent("""
            echo "value $((500 + AUTORESEARCH_ITERATION))" > candidate.txt
            if [ "$AUTORESEARCH_ITERATION" = 3 ]; then touch .git/leave-logs; fi

            """)
        let error = failure { _ = try repo.loop(agent: agent) { $0.maxRuns = 6 } }
        #expect(error.contains("the evaluation left files in the work tree (logs/"), "\(error)")
        let lines = try repo.ledgerLines()
        #expect(lines.count == 3 && lines.filter { $0.contains("status=discard") }.count == 2, "\(lines)")
        #expect(try String(contentsOfFile: repo.path + "/notes.md", encoding: .utf8) == "the user's\n")
        #expect(try repo.git(["status", "--porcelain"]) == "?? logs/\n?? notes.md\n")
        try repo.fsck()
    }

    /// After a keep no reset vouches for the work tree: the status before the agent step still
    /// finds a tracked file the evaluation of the kept candidate changed, and the loop stops.
    @Test func aFileTheEvaluationOfAKeepChangedStopsTheLoop() throws {
        let repo = try scenarioRepository()
        try repo.commitFiles(["eval.sh": """
            read kind arg < candidate.txt
            if [ -f .git/change-readme ]; then echo "by the evaluation" >> README.md; fi
            echo "score: $arg"

            """, "README.md": "read me\n"], message: "an evaluator that may change a tracked file")
        // Run 1 the baseline, run 2 a keep whose evaluation changes README.md.
        let agent = try repo.agent("""
            echo "value $((10 - AUTORESEARCH_ITERATION))" > candidate.txt
            touch .git/change-readme
            echo "$AUTORESEARCH_ITERATION" >> .git/agent-ran

            """)
        let error = failure { _ = try repo.loop(agent: agent) { $0.maxRuns = 6 } }
        #expect(error.contains("the evaluation left files in the work tree (README.md)"), "\(error)")
        #expect(try String(contentsOfFile: repo.path + "/.git/agent-ran", encoding: .utf8) == "2\n", "the agent ran once, after the baseline")
        let lines = try repo.ledgerLines()
        #expect(lines.count == 2 && lines.allSatisfy { $0.contains("status=keep") }, "\(lines)")
        #expect(try repo.git(["status", "--porcelain"]) == " M README.md\n")
        try repo.fsck()
    }

    /// A discard whose evaluation changed nothing git shows (it wrote an ignored log) resets only
    /// the paths its candidate changed; one whose evaluation changed a tracked file resets all.
    /// Either way the work tree ends as `git reset --hard` leaves it, the user's file untouched.
    @Test func discardsPutBackWhatTheCandidateAndTheEvaluationChanged() throws {
        let repo = try scenarioRepository()
        try repo.commitFiles(["eval.sh": """
            read kind arg < candidate.txt
            echo "evaluated $arg" >> eval.log
            if [ -f .git/change-readme ]; then rm .git/change-readme; echo "by the evaluation" >> README.md; fi
            echo "score: $arg"

            """, "README.md": "read me\n", "old.txt": "old\n", ".gitignore": "*.pid\n*.log\n"], message: "an evaluator that logs")
        try repo.write("notes.md", "the user's\n")
        // Run 1 the baseline; runs 2 to 4 discards, each adding a file in a new directory and
        // removing one; the evaluation of run 4, the last, changes README.md.
        let agent = try repo.agent("""
            echo "value $((20 + AUTORESEARCH_ITERATION))" > candidate.txt
            mkdir -p "extra/$AUTORESEARCH_ITERATION" && echo new > "extra/$AUTORESEARCH_ITERATION/new.txt"
            rm -f old.txt
            if [ "$AUTORESEARCH_ITERATION" = 4 ]; then touch .git/change-readme; fi

            """)
        _ = try repo.loop(agent: agent) { $0.maxRuns = 4 }
        let lines = try repo.ledgerLines()
        #expect(lines.count == 4 && lines.filter { $0.contains("status=discard") }.count == 3, "\(lines)")
        #expect(try repo.git(["status", "--porcelain"]) == "?? notes.md\n")
        for (file, text) in ["README.md": "read me\n", "old.txt": "old\n", "candidate.txt": "value 10\n", "notes.md": "the user's\n"] {
            #expect(try String(contentsOfFile: repo.path + "/" + file, encoding: .utf8) == text, "\(file)")
        }
        #expect(!repo.exists("extra"))
        try repo.fsck()
    }

    /// Mid-loop the status after the agent step looks only at the paths the watch saw the step
    /// touch: every kind of change still makes it into the candidate (the branch ends holding
    /// the work tree, the ignored file and the user's file aside), and each commit has the
    /// files its agent step changed.
    @Test func eachCandidateHoldsEveryChangeItsAgentStepMade() throws {
        let repo = try scenarioRepository()
        try repo.commitFiles(["lib/a.py": "a\n", "lib/b.py": "b\n", "tools/run.sh": "echo run\n", ".gitignore": "*.pid\n*.log\n"],
                             message: "more files")
        try repo.write("notes.md", "the user's\n")
        let agent = try repo.agent("""
            i=$AUTORESEARCH_ITERATION
            echo "value $((10 - i))" > candidate.txt
            echo "log $i" >> agent.log
            case $i in
              2) mkdir -p "deep/$i/er" && echo new > "deep/$i/er/file.txt" ;;
              3) echo glob > 'lib/a[1]*.py'; chmod +x tools/run.sh ;;
              4) rm -r lib ;;
              5) mv tools tools2 ;;
            esac

            """)
        _ = try repo.loop(agent: agent) { $0.maxRuns = 5 }
        let lines = try repo.ledgerLines()
        #expect(lines.count == 5 && lines.allSatisfy { $0.contains("status=keep") }, "\(lines)")
        #expect(try repo.git(["status", "--porcelain"]) == "?? notes.md\n")
        let changed = { (run: Int) in try repo.git(["show", "--format=", "--name-status", "autoresearch/s~\(5 - run)"]) }
        #expect(try changed(2) == "M\tcandidate.txt\nA\tdeep/2/er/file.txt\n")
        #expect(try changed(3) == "M\tcandidate.txt\nA\tlib/a[1]*.py\nM\ttools/run.sh\n")
        #expect(try changed(4) == "M\tcandidate.txt\nD\tlib/a.py\nD\tlib/a[1]*.py\nD\tlib/b.py\n")
        #expect(try changed(5) == "M\tcandidate.txt\nR100\ttools/run.sh\ttools2/run.sh\n")
        try repo.fsck()
    }

    /// `autoresearch.watch` false turns the watch off (every step takes a status, the loop runs
    /// as well); a value that is no git boolean stops the loop before its first run, saying what to set.
    @Test func gitConfigAutoresearchWatch() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        let agent = try repo.agent("echo \"value $((20 + AUTORESEARCH_ITERATION))\" > candidate.txt\n")
        try repo.git(["config", "autoresearch.watch", "maybe"])
        let refused = try Tool.run(["loop", "--agent", agent, "--max-runs", "2"], in: repo)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("invalid autoresearch.watch 'maybe'") && refused.stderr.contains("git config autoresearch.watch false"),
                "\(refused.stderr)")
        #expect(try repo.ledgerLines().count == 1)
        for jobs in ["1", "2"] {
            let parallel = try Tool.run(["loop", "--agent", agent, "--max-runs", "2", "--jobs", jobs], in: repo)
            #expect(parallel.status != 0 && parallel.stderr.contains("invalid autoresearch.watch 'maybe'"), "\(parallel.stderr)")
        }
        try repo.git(["config", "autoresearch.watch", "false"])
        let ran = try Tool.run(["loop", "--agent", agent, "--max-runs", "3"], in: repo)
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(try repo.ledgerLines().filter { $0.contains("status=discard") }.count == 3)
        #expect(try repo.git(["status", "--porcelain"]) == "")
        try repo.fsck()
    }

    @Test func aSecondLoopOnTheSameExperimentIsRefusedNamingTheHolder() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        let agent = try repo.agent("touch .git/agent-running; sleep 30\n")
        let first = try Tool.start(["loop", "--agent", agent], in: repo)
        #expect(waitUntil(seconds: 10) { repo.exists(".git/agent-running") })
        let second = try Tool.run(["loop", "--agent", agent], in: repo)
        #expect(second.status == 1)
        #expect(second.stderr.contains("process \(first.pid) holds its lock"))
        kill(first.pid, SIGINT)
        #expect(first.wait() == 130)

        // A lock left by a dead process is taken over.
        try "999999\n".write(toFile: repo.path + "/.git/autoresearch/s/lock", atomically: true, encoding: .utf8)
        let third = try Tool.run(["loop", "--agent", "true", "--max-runs", "1"], in: repo)
        #expect(third.status == 0, "\(third.stderr)")
    }

    /// The interruption the front end reads from its signal handler, injected: the loop stops the
    /// evaluation, records it, and goes back to the best, as after a Ctrl-C.
    @Test func anInterruptionDuringTheEvaluationStopsTheLoopAndResets() throws {
        let repo = try scenarioRepository(timeout: 60)
        try repo.runIteration()
        let best = try repo.gitLine("rev-parse", "HEAD")
        let events = RecordedEvents(interruptWhen: { $0.step == .evaluation })
        let loop = try repo.loop(agent: try repo.agent("echo hang > candidate.txt\n"), events: events)
        #expect(events.wasInterrupted)
        #expect(events.progress.last?.step == .evaluation, "the evaluation reported its progress")
        #expect(loop.summary.stop == .interrupted)
        #expect(loop.statuses == ["interrupted"])
        let child = try #require(repo.waitForPid("child.pid"))
        #expect(waitUntil(seconds: 2) { !processExists(child) }, "the evaluator's child that ignores SIGTERM is gone")
        #expect(try repo.gitLine("rev-parse", "HEAD") == best)
        #expect(try repo.gitLine("status", "--porcelain") == "")
        #expect(try repo.ledgerLines().filter { $0.contains("status=interrupted") }.count == 1)
        try repo.fsck()
    }

    @Test func ctrlCDuringTheEvaluationStopsRecordsAndSummarizes() throws {
        let run = try SignalledLoop(signal: SIGINT, duringAgent: false)
        #expect(run.toolStatus == 130)
        #expect(run.output.stdout.contains("interrupted"))
        #expect(run.output.stdout.contains("Stopped: interrupted"))
        #expect(!processExists(run.child))
        try run.expectBackAtBest()
    }

    @Test func ctrlCDuringTheAgentStepKeepsItsPartialWork() throws {
        let run = try SignalledLoop(signal: SIGINT, duringAgent: true)
        #expect(run.toolStatus == 130)
        #expect(!processExists(run.child))
        #expect(!run.repo.exists("idea.txt"))
        #expect(try run.expectBackAtBest().contains("during the agent step"))
        // The half-done edit is the interrupted run's commit, reachable from the attempts chain.
        let saved = try run.lastAttempt()
        #expect(try run.repo.gitLine("show", "\(saved):idea.txt") == "half-written idea")
        #expect(try run.repo.git(["notes", "--ref", "autoresearch", "show", saved]).contains("status=interrupted"))
    }

    @Test func killMinus9DuringTheEvaluationIsRepairedByTheNextCommand() throws {
        let run = try SignalledLoop(signal: SIGKILL, duringAgent: false)
        #expect(run.toolStatus == 128 + SIGKILL)
        #expect(waitUntil(seconds: 10) { !processExists(run.child) }, "the watchdog stops the evaluation of a killed tool")
        #expect(try run.repo.gitLine("rev-parse", "HEAD") != run.best)

        let next = try Tool.run(["loop", "--agent", "true", "--max-runs", "1"], in: run.repo)
        #expect(next.stderr.contains("repaired an unfinished run"))
        #expect(next.stderr.contains("during its evaluation"))
        #expect(next.status == 0)
        try run.expectBackAtBest()
    }

    @Test func killMinus9DuringTheAgentStepIsRepairedByTheNextCommand() throws {
        let run = try SignalledLoop(signal: SIGKILL, duringAgent: true)
        #expect(run.toolStatus == 128 + SIGKILL)
        #expect(waitUntil(seconds: 10) { !processExists(run.child) }, "the watchdog stops the agent of a killed tool")

        let status = try Tool.run(["status"], in: run.repo)
        #expect(status.status == 0)
        #expect(status.stderr.contains("repaired an unfinished run"))
        #expect(status.stderr.contains("during its agent step"))
        #expect(try run.expectBackAtBest().contains("killed or crashed"))
        #expect(try run.repo.gitLine("show", "\(try run.lastAttempt()):candidate.txt") == "value 1")
    }

    @Test func aSecondCtrlCExitsAtOnceAndTheNextCommandRepairs() throws {
        let repo = try scenarioRepository(timeout: 60)
        try repo.commitExperimentSetting("grace", "20s")
        try repo.runIteration()
        let best = try repo.gitLine("rev-parse", "HEAD")
        let agent = try repo.agent("echo hang > candidate.txt\n")
        let tool = try Tool.start(["loop", "--agent", agent], in: repo, environment: ["PIDFILE": repo.path + "/child.pid"])
        let child = try #require(repo.waitForPid("child.pid"))
        try FileManager.default.removeItem(atPath: repo.path + "/child.pid")
        kill(tool.pid, SIGINT)
        // Signals within a second of the first are the same interruption.
        usleep(1_200_000)
        #expect(processExists(tool.pid), "the evaluator ignores SIGTERM: the tool waits out the grace period")
        let started = Date()
        kill(tool.pid, SIGINT)
        #expect(tool.wait() == 128 + SIGINT)
        #expect(Date().timeIntervalSince(started) < 2, "the second Ctrl-C does not wait for the 20 s grace")
        #expect(FileManager.default.fileExists(atPath: repo.markerPath), "the run is left for the next command")

        let status = try Tool.run(["status"], in: repo)
        #expect(status.stderr.contains("repaired an unfinished run") && !status.stderr.contains("left alone"), "\(status.stderr)")
        #expect(waitUntil(seconds: 2) { !processExists(child) })
        #expect(try repo.gitLine("rev-parse", "HEAD") == best)
        #expect(try repo.gitLine("status", "--porcelain") == "")
        try repo.fsck()
    }

    @Test func docsPlainScriptRecipe() throws {
        let doc = try String(contentsOfFile: packageRoot + "/docs/agents.md", encoding: .utf8)
        let section = try #require(doc.range(of: "<!-- plain-script-agent")).upperBound
        let open = try #require(doc.range(of: "```sh\n", range: section..<doc.endIndex))
        let close = try #require(doc.range(of: "\n```", range: open.upperBound..<doc.endIndex))
        let script = String(doc[open.upperBound..<close.lowerBound])

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agents-doc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let demo = try runProgram(Tool.path, ["demo", "--dir", directory], in: FileManager.default.temporaryDirectory.path)
        #expect(demo.status == 0, "\(demo.stderr)")
        try script.write(toFile: directory + "/.git/random-agent.sh", atomically: true, encoding: .utf8)
        let output = try runProgram(Tool.path, ["loop", "--agent", "sh .git/random-agent.sh", "--max-runs", "6", "--format", "json"],
                                    in: directory)
        let loop = parseLoopOutput(output)
        #expect(loop.status == 0, "\(loop.stderr)")
        #expect(loop.runs.count == 6)
        for run in loop.runs {
            #expect(["keep", "discard"].contains(run["status"] as? String), "\(run)")
            #expect((run["description"] as? String)?.hasPrefix("learning rate ") == true, "\(run)")
        }
    }

    @Test func theDemoShowsKeepsDiscardsACrashAndANoop() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let demo = try runProgram(Tool.path, ["demo", "--dir", directory], in: FileManager.default.temporaryDirectory.path)
        #expect(demo.status == 0, "\(demo.stderr)")
        let statuses = demo.stdout.split(separator: "\n").filter { $0.hasPrefix("run ") }.map { $0.split(separator: " ")[2] }
        #expect(statuses == ["baseline", "keep", "discard", "crash", "keep", "noop", "discard"])
        #expect(demo.stdout.contains("loss: baseline 0.0984 → best 0.0504 (-48.78%, better)"))
        let log = try runProgram("/usr/bin/git", ["log", "--notes=autoresearch", "--format=%N", "autoresearch/demo"], in: directory)
        #expect(log.stdout.contains("status=noop"))
        let fsck = try runProgram("/usr/bin/git", ["fsck", "--strict"], in: directory)
        #expect(fsck.status == 0 && !fsck.stderr.contains("error"))
    }

    @Test func progressOnATerminalPlainLinesWhenPipedNothingWhenQuiet() throws {
        let repo = try scenarioRepository()
        let agent = try repo.agent("echo pondering; sleep 1.5; echo \"value $((20 - AUTORESEARCH_ITERATION))\" > candidate.txt\n")
        // `script` gives the tool a terminal; its output is what the terminal showed.
        let command = "\(Tool.path) loop --agent '\(agent)' --max-runs 2"
        let terminal = try runProgram("/usr/bin/script", ["-qec", command, "/dev/null"], in: repo.path)
        #expect(terminal.status == 0, "\(terminal.stdout)")
        #expect(terminal.stdout.contains("\r\u{1B}[K"), "a rewritten status line")
        #expect(terminal.stdout.contains(" agent 1."))
        #expect(terminal.stdout.contains(" / 30m00s | pondering"))

        let piped = try Tool.run(["loop", "--agent", agent, "--max-runs", "1"], in: repo)
        #expect(piped.status == 0)
        #expect(!piped.stdout.contains("\u{1B}") && !piped.stderr.contains("\u{1B}"))
        #expect(piped.stdout.split(separator: "\n").first?.hasPrefix("run ") == true)

        let quiet = try Tool.run(["loop", "-q", "--agent", agent, "--max-runs", "1"], in: repo)
        #expect(quiet.status == 0)
        #expect(quiet.stdout.isEmpty && quiet.stderr.isEmpty)
    }
}
