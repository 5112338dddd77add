import Autoresearch
import Foundation
import Testing
import Fixtures

/// A repository with experiment `s` (lower `score` is better): `eval.sh` sleeps `$EVAL_SLEEP`
/// seconds (default none), then reports the number in `value.txt`.
func parallelRepository() throws -> TempRepository {
    let repo = try TempRepository()
    try repo.commitFiles([
        "eval.sh": "sleep ${EVAL_SLEEP:-0}\necho \"score: $(cat value.txt)\"\n",
        "value.txt": "500\n",
    ], message: "project")
    try repo.initialize {
        $0.evaluate = "sh eval.sh"
        $0.metric = "score"
        $0.direction = .lower
        $0.budget = 5
    }
    return repo
}

/// An agent that writes a random value from 0 to 999 and logs the worker environment it saw
/// (`AUTORESEARCH_WORKER CUDA_VISIBLE_DEVICES`) to `$ENVLOG` when set.
let randomValueAgent = """
echo $(( $(od -An -N2 -tu2 /dev/urandom) % 1000 )) > value.txt
[ -n "$ENVLOG" ] && echo "$AUTORESEARCH_WORKER $CUDA_VISIBLE_DEVICES" >> "$ENVLOG"
exit 0

"""

extension TempRepository {
    /// The value a record line holds, if any.
    static func value(of line: String) -> Double? {
        line.split(separator: " ").first { $0.hasPrefix("value=") }.flatMap { Double($0.dropFirst(6)) }
    }

    /// Checks, with the git CLI, that no worker is left: one work tree, no worker branch, no
    /// administrative files, HEAD back on the experiment branch with a clean work tree.
    func expectNoWorkerLeft() throws {
        let worktrees = try git(["worktree", "list", "--porcelain"]).split(separator: "\n").filter { $0.hasPrefix("worktree ") }
        #expect(worktrees == ["worktree \(path)"], "git worktree list: \(worktrees)")
        #expect(try gitLine("branch", "--list", "autoresearch-workers/*") == "")
        let admin = (try? FileManager.default.contentsOfDirectory(atPath: path + "/.git/worktrees")) ?? []
        #expect(admin.isEmpty, "left in .git/worktrees: \(admin)")
        #expect(try gitLine("symbolic-ref", "HEAD") == "refs/heads/autoresearch/s")
        #expect(try gitLine("status", "--porcelain") == "")
    }
}

@Suite(.ownThreads) struct ScaleOutTests {
    @Test func fourWorkersShareFortyRunsAndTheBranchEndsAtTheBest() throws {
        let repo = try parallelRepository()
        let agent = try repo.agent(randomValueAgent)
        let envLog = repo.path + "/.git/env.log"
        let result = try loopJSON(repo, ["--jobs", "4", "--max-runs", "40", "--agent", agent,
                                         "--worker-env", "CUDA_VISIBLE_DEVICES={worker}"],
                                  environment: ["ENVLOG": envLog])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.summary["runs"] as? Int == 40)

        // Every run has exactly one record, and the records are the runs the loop reported.
        let lines = try repo.ledgerLines()
        let ids = runIDs(lines)
        #expect(ids.count == 40)
        #expect(Set(ids).count == 40)
        #expect(Set(ids) == Set(result.runs.compactMap { $0["run"] as? String }))
        #expect(lines.filter { $0.contains("status=keep") }.count > 1)
        #expect(!lines.contains { $0.contains("status=agent-error") || $0.contains("status=crash") })
        let workers = Set(lines.compactMap { line in line.split(separator: " ").first { $0.hasPrefix("worker=") }.map(String.init) })
        #expect(workers == ["worker=0", "worker=1", "worker=2", "worker=3"])

        // The experiment branch holds the best value of all runs, and that value was kept.
        let best = try #require(lines.compactMap(TempRepository.value(of:)).min())
        #expect(Double(try repo.gitLine("show", "autoresearch/s:value.txt")) == best)
        #expect(lines.contains { $0.contains(" status=keep ") && TempRepository.value(of: $0) == best })
        let status = try JSONSerialization.jsonObject(with: Data(try Tool.run(["status", "--format", "json"], in: repo).stdout.utf8)) as? [String: Any]
        #expect(status?["best_value"] as? Double == best)

        // Each worker saw its own number and its own device.
        let seen = Set((try String(contentsOfFile: envLog, encoding: .utf8)).split(separator: "\n").map(String.init))
        #expect(seen == ["0 0", "1 1", "2 2", "3 3"])

        try repo.expectNoWorkerLeft()
        try repo.fsck()
    }

    @Test func aKilledWorkerIsSettledWhileTheOthersGoOn() throws {
        let repo = try parallelRepository()
        let agent = try repo.agent(randomValueAgent)
        let loop = try Tool.start(["loop", "--jobs", "2", "--max-runs", "16", "--agent", agent], in: repo,
                                  environment: ["EVAL_SLEEP": "0.4"])
        let stateFile = repo.path + "/.git/autoresearch/s/workers/1.json"
        var victim: [String: Any] = [:]
        let victimEvaluates = {
            waitUntil(seconds: 30) {
                victim = (FileManager.default.contents(atPath: stateFile).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? [:]
                guard victim["step"] as? String == "evaluation", (victim["runs"] as? Int ?? 0) >= 1, let run = victim["run"] as? String else { return false }
                // The state still says "evaluation" while the worker records and resets: on a
                // loaded machine the kill landed there. The evaluator has not printed yet.
                return repo.read(".git/autoresearch/s/logs/\(run).log")?.contains("score:") != true
            }
        }
        #expect(victimEvaluates())
        // `status` shows both live workers.
        let status = try JSONSerialization.jsonObject(with: Data(try Tool.run(["status", "--format", "json"], in: repo).stdout.utf8)) as? [String: Any]
        let live = status?["workers"] as? [[String: Any]] ?? []
        #expect(live.compactMap { $0["worker"] as? Int }.sorted() == [0, 1])
        #expect(live.allSatisfy { ($0["pid"] as? Int ?? 0) > 0 && ($0["worktree"] as? String)?.contains("/.git/autoresearch/s/workers/") == true })
        // Read again: on a loaded machine the run seen before `status` may have ended during it.
        #expect(victimEvaluates())

        let pid = try #require(victim["pid"] as? Int)
        let killedRun = try #require(victim["run"] as? String)
        kill(Int32(pid), SIGKILL)
        let output = loop.output()
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("worker 1 was killed (signal 9); the others go on"), "\(output.stderr)")

        let lines = try repo.ledgerLines()
        #expect(runIDs(lines).count == 16)
        #expect(Set(runIDs(lines)).count == 16)
        let killed = lines.filter { $0.contains("run=\(killedRun) ") }
        #expect(killed.count == 1)
        #expect(killed.first?.contains("status=interrupted") == true, "\(killed)")
        // The other worker went on after the kill.
        #expect(lines.filter { $0.contains("worker=0") }.count >= 8)
        try repo.expectNoWorkerLeft()
        try repo.fsck()
    }

    /// Every run a worker makes says so, those it did not evaluate (an agent that changed
    /// nothing) included: `log --worker` finds them all.
    @Test func everyRunOfAWorkerCarriesItsNumber() throws {
        let repo = try parallelRepository()
        let agent = try repo.agent("[ $((AUTORESEARCH_ITERATION % 2)) = 0 ] && exit 0\n" + randomValueAgent)
        let result = try loopJSON(repo, ["--jobs", "2", "--max-runs", "6", "--agent", agent])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try repo.ledgerLines()
        #expect(lines.count == 6 && lines.contains { $0.contains("status=noop") }, "\(lines)")
        // The baseline, measured by the loop itself before the workers start, is the only one without.
        let withoutWorker = lines.filter { !$0.contains(" worker=0") && !$0.contains(" worker=1") }
        #expect(withoutWorker.count == 1 && withoutWorker.first?.contains("status=keep") == true, "\(withoutWorker)")
    }

    @Test func ctrlCStopsEveryWorkerAndLeavesNothingBehind() throws {
        let repo = try parallelRepository()
        let agent = try repo.agent(randomValueAgent)
        try repo.runIteration()
        let loop = try Tool.start(["loop", "--jobs", "2", "--agent", agent], in: repo, environment: ["EVAL_SLEEP": "10"])
        let states = (0..<2).map { repo.path + "/.git/autoresearch/s/workers/\($0).json" }
        var runs: [String] = []
        #expect(waitUntil(seconds: 30) {
            let workers = states.compactMap { FileManager.default.contents(atPath: $0).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any] }
            runs = workers.filter { $0["step"] as? String == "evaluation" }.compactMap { $0["run"] as? String }
            return runs.count == 2
        })
        kill(loop.pid, SIGINT)
        let output = loop.output()
        #expect(output.status == 130, "\(output.stderr)")
        #expect(output.stdout.contains("Stopped: interrupted"), "\(output.stdout)")
        let lines = try repo.ledgerLines()
        for run in runs {
            #expect(lines.filter { $0.contains("run=\(run) ") && $0.contains("status=interrupted") }.count == 1, "run \(run)")
        }
        try repo.expectNoWorkerLeft()
        try repo.fsck()
    }

    @Test func theNextStartCleansUpAfterAKilledLoop() throws {
        let repo = try parallelRepository()
        let agent = try repo.agent(randomValueAgent)
        let loop = try Tool.start(["loop", "--jobs", "2", "--agent", agent], in: repo, environment: ["EVAL_SLEEP": "0.5"])
        let states = (0..<2).map { repo.path + "/.git/autoresearch/s/workers/\($0).json" }
        var workers: [[String: Any]] = []
        #expect(waitUntil(seconds: 30) {
            workers = states.compactMap { FileManager.default.contents(atPath: $0).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any] }
            return workers.count == 2 && workers[0]["step"] as? String == "evaluation" && workers[1]["pid"] != nil
        })
        try #require(workers.count == 2)
        let killedRun = try #require(workers[0]["run"] as? String)
        // The loop and worker 0 die at once; worker 1 sees its loop gone and stops by itself.
        kill(Int32(try #require(workers[0]["pid"] as? Int)), SIGKILL)
        kill(loop.pid, SIGKILL)
        _ = loop.wait()
        let survivor = Int32(try #require(workers[1]["pid"] as? Int))
        #expect(waitUntil(seconds: 20) { !processExists(survivor) })
        #expect(try repo.git(["worktree", "list", "--porcelain"]).components(separatedBy: "worktree ").count - 1 == 3)

        let next = try Tool.run(["loop", "--jobs", "2", "--max-runs", "2", "--agent", agent], in: repo)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stderr.contains("worker 0: repaired an unfinished run \(killedRun)"), "\(next.stderr)")
        let killed = try repo.ledgerLines().filter { $0.contains("run=\(killedRun) ") }
        #expect(killed.count == 1)
        #expect(killed.first?.contains("status=interrupted") == true)
        try repo.expectNoWorkerLeft()
        try repo.fsck()
    }

    @Test func badScaleOutOptionsAreClearErrors() throws {
        let repo = try parallelRepository()
        let agent = try repo.agent(randomValueAgent)
        for (arguments, status, message) in [
            (["--jobs", "0"], Int32(64), "--jobs must be at least 1"),
            (["--jobs", "2", "--worker-env", "CUDA_VISIBLE_DEVICES"], 64, "--worker-env takes KEY=VALUE"),
            (["--worker-env", "A={worker}"], 64, "--worker-env needs --jobs 2 or more"),
            (["--jobs", "2", "--sync", "nosuch"], 1, "no remote named 'nosuch'"),
            (["--sync", "nosuch"], 1, "no remote named 'nosuch'"),
        ] {
            let output = try Tool.run(["loop", "--agent", agent, "--max-runs", "2"] + arguments, in: repo)
            #expect(output.status == status, "\(arguments): \(output.stderr)")
            #expect(output.stderr.contains(message), "\(arguments): \(output.stderr)")
        }
        #expect(try repo.ledgerLines().isEmpty)
        try repo.expectNoWorkerLeft()
    }

    /// An evaluator that writes files into the work tree stops each worker with a clear error,
    /// as it stops a plain loop: they would be taken for the agent's next change.
    @Test func anEvaluatorLeavingFilesStopsTheWorkersClearly() throws {
        let repo = try parallelRepository()
        try repo.commitFiles(["eval.sh": "echo run >> out.txt\necho \"score: $(cat value.txt)\"\n"], message: "evaluator writes out.txt")
        let result = try loopJSON(repo, ["--jobs", "2", "--max-runs", "10", "--agent", try repo.agent(randomValueAgent)])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("the evaluation left files in the work tree (out.txt)"), "\(result.stderr)")
        #expect(result.stderr.contains("worker 0 stopped with an error"), "\(result.stderr)")
        #expect(result.summary["stop"] as? String == "worker-failed")
        try FileManager.default.removeItem(atPath: repo.path + "/out.txt")
        try repo.expectNoWorkerLeft()
        try repo.fsck()
    }

    /// A plain loop (no workers) with `--sync` takes a better best from the remote, files and all,
    /// and measures it again first.
    @Test func aSingleLoopWithSyncAdoptsTheRemotesBetterBest() throws {
        // `shared` keeps the remote for the whole test.
        let shared = try AdoptTests.remoteWithBetterBestNotYetPulled()
        let second = shared.second
        let result = try second.loop(agent: try second.agent("echo 900 > value.txt\n")) {
            $0.sync = "origin"
            $0.maxRuns = 2
        }
        #expect(result.summary.stop == .maxRuns)
        #expect(result.notices.contains { $0.contains("adopted the best from origin") }, "\(result.notices)")
        #expect(!result.notices.contains { $0.contains("evaluating the changes already") }, "\(result.notices)")
        #expect(result.notices.contains { $0.contains("measured the adopted best again here: run") && $0.contains("claimed score=100") },
                "\(result.notices)")
        #expect(result.statuses == ["recheck", "discard"])
        #expect(result.records.allSatisfy { $0.bestBefore == 100 })
        #expect(second.read("value.txt") == "100\n")
        #expect(try second.gitLine("status", "--porcelain") == "")
        try second.fsck()
    }

    /// Three machines, two workers each, share one bare repository: two reach it by path, the
    /// third by path too or through `git daemon` on 127.0.0.1 (both transports at once). Every
    /// machine pulls before each run and pushes after each keep.
    @Test(arguments: Transport.allCases)
    func threeMachinesShareOneRemote(third transport: Transport) throws {
        let remote = try TestRemote(transport)
        let first = try parallelRepository()
        try first.git(["remote", "add", "origin", remote.bare.path])
        try first.runIteration()
        try first.push()
        var expected = runIDs(try first.ledgerLines())
        let second = try SharingTests.clone(remote.bare.path)
        let third = try SharingTests.clone(remote.url)
        let machines = [first, second, third]
        let loops = try machines.map { repo in
            try Tool.start(["loop", "--format", "json", "--jobs", "2", "--sync", "origin", "--push-every", "2",
                            "--max-runs", "8", "--agent", try repo.agent(randomValueAgent)], in: repo,
                           environment: ["EVAL_SLEEP": "0.1"])
        }
        var stderr = ""
        for loop in loops {
            let result = parseLoopOutput(loop.output())
            #expect(result.status == 0, "\(result.stderr)")
            stderr += result.stderr
            expected += result.runs.compactMap { $0["run"] as? String }
        }
        #expect(expected.count == 25)
        for repo in machines { try repo.pull() }

        var best = Double.infinity
        for repo in machines {
            let lines = try repo.ledgerLines()
            let ids = runIDs(lines)
            #expect(ids.count == Set(ids).count, "no record twice")
            #expect(lines.filter { $0.contains("status=keep") }.count > 1)
            #expect(!lines.contains { $0.contains("status=agent-error") || $0.contains("status=crash") })
            #expect(Set(ids) == Set(expected), "every record")
            best = min(best, try repo.ledgerLines().compactMap(TempRepository.value(of:)).min() ?? best)
            try repo.expectNoWorkerLeft()
            try repo.fsck()
        }
        // The remote's experiment branch holds the best any machine found.
        // What to look at when it fails: the remote's branch with its records, and the best records.
        let remoteValue = Double(try remote.bare.gitLine("show", "autoresearch/s:value.txt"))
        let remoteLog = try remote.bare.git(["log", "--format=%h %p %s%n%N", "--notes=autoresearch", "-12", "autoresearch/s"])
        let bestRecords = try first.ledgerLines().filter { TempRepository.value(of: $0) == best }.joined(separator: "\n")
        #expect(remoteValue == best, "\(stderr)\nthe remote's branch:\n\(remoteLog)\nthe best records:\n\(bestRecords)")
        try remote.bare.fsck()
    }
}
