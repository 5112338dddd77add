@testable import Autoresearch
import Foundation
import Testing
import Fixtures

/// `loop --launcher slurm` against a real one-node SLURM cluster the tests start (`SlurmCluster`).
@Suite(.serialized, .enabled(if: SlurmCluster.unavailable == nil, "\(SlurmCluster.unavailable ?? "")"))
struct SlurmTests {
    /// The state file of worker `index` as JSON, if it can be read now.
    static func workerState(_ repo: TempRepository, _ index: Int) -> [String: Any] {
        let path = repo.path + "/.git/autoresearch/s/workers/\(index).json"
        return (FileManager.default.contents(atPath: path).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? [:]
    }

    /// A loop of two SLURM workers on `parallelRepository()` (baseline measured) whose evaluations
    /// take 30 s, once both workers evaluate: the repository, the agent, the loop and their runs.
    static func loopWithBothWorkersEvaluating(on cluster: SlurmCluster) throws
        -> (repo: TempRepository, agent: String, loop: ChildProcess, runs: [String]) {
        let repo = try parallelRepository()
        let agent = try repo.agent(randomValueAgent)
        try repo.runIteration()
        let loop = try Tool.start(["loop", "--launcher", "slurm", "--jobs", "2", "--agent", agent], in: repo,
                                  environment: cluster.environment.merging(["EVAL_SLEEP": "30"]) { $1 })
        var runs: [String] = []
        #expect(waitUntil(seconds: 60) {
            runs = (0..<2).map { workerState(repo, $0) }.filter { $0["step"] as? String == "evaluation" }.compactMap { $0["run"] as? String }
            return runs.count == 2
        })
        return (repo, agent, loop, runs)
    }

    /// Each of `runs` has one record, `interrupted`; no job, no work tree is left; fsck is clean.
    static func expectInterruptedOnce(_ runs: [String], in repo: TempRepository, leavingNoJobOn cluster: SlurmCluster) throws {
        let lines = try repo.ledgerLines()
        for run in runs {
            #expect(lines.filter { $0.contains("run=\(run) ") && $0.contains("status=interrupted") }.count == 1, "run \(run)")
        }
        #expect(try cluster.activeJobs() == [])
        try repo.expectNoWorkerLeft()
        try repo.fsck()
    }

    @Test func twoSlurmWorkersShareTwentyRunsAndLeaveNoJob() throws {
        let cluster = try SlurmCluster()
        let repo = try parallelRepository()
        let agent = try repo.agent(randomValueAgent)
        let result = try loopJSON(repo, ["--launcher", "slurm", "--jobs", "2", "--max-runs", "20", "--agent", agent,
                                         "--launcher-arg=--time=10"], environment: cluster.environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.summary["runs"] as? Int == 20)
        #expect(result.stderr.contains("2 workers submitted to slurm (jobs "), "\(result.stderr)")

        let lines = try repo.ledgerLines()
        #expect(runIDs(lines).count == 20)
        #expect(Set(runIDs(lines)).count == 20)
        #expect(Set(runIDs(lines)) == Set(result.runs.compactMap { $0["run"] as? String }))
        let best = try #require(lines.compactMap(TempRepository.value(of:)).min())
        #expect(Double(try repo.gitLine("show", "autoresearch/s:value.txt")) == best)
        #expect(lines.contains { $0.contains(" status=keep ") && TempRepository.value(of: $0) == best })
        #expect(try cluster.activeJobs() == [])
        try repo.expectNoWorkerLeft()
        try repo.fsck()
    }

    @Test func aCancelledJobIsRecordedAndSubmittedAgain() throws {
        let cluster = try SlurmCluster()
        let repo = try parallelRepository()
        let agent = try repo.agent(randomValueAgent)
        let loop = try Tool.start(["loop", "--launcher", "slurm", "--jobs", "2", "--max-runs", "8", "--agent", agent], in: repo,
                                  environment: cluster.environment.merging(["EVAL_SLEEP": "2"]) { $1 })
        #expect(waitUntil(seconds: 60) { (0..<2).allSatisfy { Self.workerState(repo, $0)["step"] as? String == "evaluation" } })
        // `status` shows each worker's job and node.
        let status = try JSONSerialization.jsonObject(with: Data(try Tool.run(["status", "--format", "json"], in: repo,
                                                                              environment: cluster.environment).stdout.utf8)) as? [String: Any]
        let live = status?["workers"] as? [[String: Any]] ?? []
        #expect(live.compactMap { $0["worker"] as? Int }.sorted() == [0, 1], "\(live)")
        #expect(live.allSatisfy { $0["launcher"] as? String == "slurm" && $0["job"] != nil && $0["node"] != nil }, "\(live)")

        // Cancelled early in an evaluation of two seconds.
        var victim: [String: Any] = [:]
        #expect(waitUntil(seconds: 60) {
            victim = Self.workerState(repo, 1)
            return victim["step"] as? String == "evaluation" && Date().timeIntervalSince1970 - (victim["since"] as? Double ?? 0) / 1000 < 1 && victim["job"] != nil
        })
        let job = try #require(victim["job"] as? String)
        let cancelledRun = try #require(victim["run"] as? String)
        try cluster.run("scancel", [job])
        let output = loop.output()
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("worker 1: job \(job) was cancelled by the scheduler"), "\(output.stderr)")
        #expect(output.stderr.contains("worker 1: submitted again (1 of 3) as slurm job "), "\(output.stderr)")

        let lines = try repo.ledgerLines()
        #expect(runIDs(lines).count == 8)
        #expect(Set(runIDs(lines)).count == 8)
        let cancelled = lines.filter { $0.contains("run=\(cancelledRun) ") }
        #expect(cancelled.count == 1)
        #expect(cancelled.first?.contains("status=interrupted") == true, "\(cancelled)")
        #expect(try cluster.activeJobs() == [])
        try repo.expectNoWorkerLeft()
        try repo.fsck()
    }

    @Test func ctrlCCancelsEveryJobAndLeavesNoWorkTree() throws {
        let cluster = try SlurmCluster()
        let (repo, _, loop, runs) = try Self.loopWithBothWorkersEvaluating(on: cluster)
        #expect(try cluster.activeJobs().count == 2)
        kill(loop.pid, SIGINT)
        let output = loop.output()
        #expect(output.status == 130, "\(output.stderr)")
        try Self.expectInterruptedOnce(runs, in: repo, leavingNoJobOn: cluster)
    }

    @Test func theNextLoopCancelsTheJobsOfAKilledLoop() throws {
        let cluster = try SlurmCluster()
        let (repo, agent, loop, runs) = try Self.loopWithBothWorkersEvaluating(on: cluster)
        kill(loop.pid, SIGKILL)
        _ = loop.wait()
        #expect(try cluster.activeJobs().count == 2)

        let next = try Tool.run(["loop", "--launcher", "slurm", "--jobs", "2", "--max-runs", "2", "--agent", agent], in: repo,
                                environment: cluster.environment)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stderr.contains("worker 0: cancelling slurm job "), "\(next.stderr)")
        #expect(next.stderr.contains("worker 1: cancelling slurm job "), "\(next.stderr)")
        try Self.expectInterruptedOnce(runs, in: repo, leavingNoJobOn: cluster)
    }

    @Test func workersInClonesSyncThroughTheRemoteAndLeaveNoClone() throws {
        let cluster = try SlurmCluster()
        let repo = try parallelRepository()
        let remote = try TempRepository(bare: true)
        let agent = try repo.agent(randomValueAgent)
        // The jobs' node-local scratch, where each clones the remote.
        let scratch = ScratchDirectory()
        let result = try loopJSON(repo, ["--launcher", "slurm", "--worker-tree", "clone", "--sync", remote.path, "--jobs", "2",
                                         "--max-runs", "8", "--agent", agent, "--launcher-arg=--time=10"],
                                  environment: cluster.environment.merging(["TMPDIR": scratch.path]) { $1 })
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.summary["runs"] as? Int == 8, "\(result.summary)")
        #expect(result.stderr.contains("2 workers submitted to slurm (jobs "), "\(result.stderr)")

        // One record per run, on the remote (read with git there) and pulled back here.
        let remoteLines = try ledgerLines(inRepositoryAt: remote.path)
        #expect(runIDs(remoteLines).count == 8)
        #expect(Set(runIDs(remoteLines)).count == 8)
        #expect(Set(runIDs(try repo.ledgerLines())) == Set(runIDs(remoteLines)))
        // The branch is at the best, here and on the remote.
        let best = try #require(remoteLines.compactMap(TempRepository.value(of:)).min())
        #expect(Double(try repo.gitLine("show", "autoresearch/s:value.txt")) == best)
        #expect(try remote.gitLine("rev-parse", "autoresearch/s") == (try repo.gitLine("rev-parse", "autoresearch/s")))
        #expect(remoteLines.contains { $0.contains(" status=keep ") && TempRepository.value(of: $0) == best })
        #expect(try cluster.activeJobs() == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == [], "clones left behind")
        try repo.expectNoWorkerLeft()
        try repo.fsck()
        try remote.fsck()
    }

    @Test func workersInClonesNeedNoGitOnTheNodes() throws {
        let cluster = try SlurmCluster()
        let repo = try parallelRepository()
        let remote = try TempRepository(bare: true)
        let agent = try repo.agent(randomValueAgent)
        let scratch = ScratchDirectory()
        let programs = ScratchDirectory()
        // The loop, sbatch and the jobs (which get the environment sbatch had) find no git.
        let path = try pathWithoutGit(under: programs.path)
        #expect(!FileManager.default.fileExists(atPath: path + "/git") && FileManager.default.fileExists(atPath: path + "/sbatch"))
        let result = try loopJSON(repo, ["--launcher", "slurm", "--worker-tree", "clone", "--sync", remote.path, "--jobs", "2",
                                         "--max-runs", "4", "--agent", agent, "--launcher-arg=--time=10"],
                                  environment: cluster.environment.merging(["TMPDIR": scratch.path, "PATH": path]) { $1 })
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.summary["runs"] as? Int == 4, "\(result.summary)")
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: remote.path))).count == 4)
        #expect(try cluster.activeJobs() == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == [], "clones left behind")
        try remote.fsck()
        // The programs the jobs ran stay until here.
        withExtendedLifetime(programs) {}
    }

    @Test func ctrlCOfWorkersInClonesRecordsTheirRunsOnTheRemoteAndLeavesNoClone() throws {
        let cluster = try SlurmCluster()
        let repo = try parallelRepository()
        let remote = try TempRepository(bare: true)
        let agent = try repo.agent(randomValueAgent)
        try repo.runIteration()
        let scratch = ScratchDirectory()
        let loop = try Tool.start(["loop", "--launcher", "slurm", "--worker-tree", "clone", "--sync", remote.path, "--jobs", "2",
                                   "--agent", agent], in: repo,
                                  environment: cluster.environment.merging(["TMPDIR": scratch.path, "EVAL_SLEEP": "30"]) { $1 })
        // Each clone's worker is in a run once its agent's log exists.
        #expect(waitUntil(seconds: 60) {
            let clones = (try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? []
            return clones.count == 2 && clones.allSatisfy { clone in
                !((try? FileManager.default.contentsOfDirectory(atPath: scratch.path + "/" + clone + "/repo/.git/autoresearch/s/logs")) ?? []).isEmpty
            }
        })
        kill(loop.pid, SIGINT)
        let output = loop.output()
        #expect(output.status == 130, "\(output.stderr)")
        let interrupted = try ledgerLines(inRepositoryAt: remote.path).filter { $0.contains("status=interrupted") }
        #expect(interrupted.count == 2, "\(interrupted)")
        #expect(Set(runIDs(interrupted)).isSubset(of: Set(runIDs(try repo.ledgerLines()))))
        #expect(try cluster.activeJobs() == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == [], "clones left behind")
        try repo.expectNoWorkerLeft()
        try repo.fsck()
    }

    @Test func aCancelledJobInACloneIsRecordedAndSubmittedAgainWithinMaxRuns() throws {
        let cluster = try SlurmCluster()
        let repo = try parallelRepository()
        let remote = try TempRepository(bare: true)
        // Worker 1, the one cancelled, is the slower: it has most of its share of the runs left.
        let agent = try repo.agent("sleep $((1 + 2 * AUTORESEARCH_WORKER))\n" + randomValueAgent)
        let scratch = ScratchDirectory()
        let loop = try Tool.start(["loop", "--format", "json", "--launcher", "slurm", "--worker-tree", "clone", "--sync", remote.path,
                                   "--jobs", "2", "--max-runs", "10", "--agent", agent], in: repo,
                                  environment: cluster.environment.merging(["TMPDIR": scratch.path]) { $1 })
        var jobs: [String] = []
        #expect(waitUntil(seconds: 60) {
            jobs = ((try? cluster.activeJobs()) ?? []).filter { $0.contains(" RUNNING ") }.compactMap { $0.split(separator: " ").first.map(String.init) }
            return jobs.count == 2
        })
        // Cancelled once the other worker's runs are on the remote: they must not count twice
        // against the cancelled worker's share (runs recorded, and the other worker's share).
        #expect(waitUntil(seconds: 30) {
            ((try? ledgerLines(inRepositoryAt: remote.path)) ?? []).filter { $0.contains(" worker=0") }.count >= 3
        })
        let job = try #require(jobs.last)
        try cluster.run("scancel", [job])
        let output = loop.output()
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("job \(job) was cancelled by the scheduler"), "\(output.stderr)")
        #expect(output.stderr.contains("submitted again (1 of 3) as slurm job "), "\(output.stderr)")
        let summary = parseLoopOutput(output).summary
        let lines = try ledgerLines(inRepositoryAt: remote.path)
        // The baseline run here, then the workers' runs: never more than --max-runs, one record each.
        #expect(runIDs(lines).count == summary["runs"] as? Int, "\(summary)")
        #expect(Set(runIDs(lines)).count == runIDs(lines).count)
        #expect(runIDs(lines).count <= 10)
        // Each worker's records say which worker made them, as in linked work trees.
        #expect(Set(lines.compactMap { $0.firstMatch(of: /worker=(\d+)/).map { String($0.1) } }) == ["0", "1"], "\(lines)")
        #expect(try cluster.activeJobs() == [])
        // The cancelled job cleans up after SLURM marked it cancelled (within its KillWait).
        #expect(waitUntil(seconds: 20) { (try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) == [] }, "clones left behind")
        try repo.expectNoWorkerLeft()
    }

    @Test func badLauncherOptionsAreClearErrorsAndLeaveNothing() throws {
        let cluster = try SlurmCluster()
        let repo = try parallelRepository()
        let agent = try repo.agent(randomValueAgent)
        let refused = try Tool.run(["loop", "--launcher", "slurm", "--jobs", "2", "--max-runs", "2", "--agent", agent,
                                    "--launcher-arg=--partition=nope"], in: repo, environment: cluster.environment)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("sbatch did not take worker 0: "), "\(refused.stderr)")
        #expect(refused.stderr.contains("invalid partition"), "\(refused.stderr)")
        let reserved = try Tool.run(["loop", "--launcher", "slurm", "--max-runs", "2", "--agent", agent, "--launcher-arg=--output=x"],
                                    in: repo, environment: cluster.environment)
        #expect(reserved.status == 1)
        #expect(reserved.stderr.contains("the sbatch option --output is set by the loop itself"), "\(reserved.stderr)")
        let local = try Tool.run(["loop", "--max-runs", "2", "--agent", agent, "--launcher-arg=--gres=gpu:1"], in: repo)
        #expect(local.status == 64)
        #expect(local.stderr.contains("--launcher-arg needs --launcher slurm"), "\(local.stderr)")
        #expect(try cluster.activeJobs() == [])
        try repo.expectNoWorkerLeft()
    }
}

/// What `SlurmLauncher` reads from SLURM and refuses from the user, without a cluster.
@Suite(.ownThreads) struct SlurmLauncherTests {
    @Test(arguments: [
        ("JobId=7 JobName=autoresearch-w0 JobState=PENDING Reason=Resources NodeList=(null) ExitCode=0:0", WorkerJobState.queued(reason: "Resources")),
        ("JobId=7 JobState=RUNNING Reason=None NodeList=gpu-12 ExitCode=0:0", .running(node: "gpu-12")),
        ("JobId=7 JobState=COMPLETED Reason=None NodeList=gpu-12 ExitCode=0:0", .ended(.exited(0))),
        ("JobId=7 JobState=FAILED Reason=NonZeroExitCode NodeList=gpu-12 ExitCode=1:0", .ended(.exited(1))),
        ("JobId=7 JobState=FAILED Reason=JobLaunchFailure NodeList=gpu-12 ExitCode=0:9", .ended(.signaled(9))),
        ("JobId=7 JobState=CANCELLED Reason=None NodeList=gpu-12 ExitCode=0:15", .ended(.lost("cancelled"))),
        ("JobId=7 JobState=PREEMPTED Reason=None NodeList=gpu-12 ExitCode=0:15", .ended(.lost("preempted"))),
        ("JobId=7 JobState=NODE_FAIL Reason=None NodeList=gpu-12 ExitCode=0:0", .ended(.lost("node fail"))),
    ])
    func aShowJobLineGivesTheWorkersState(line: String, state: WorkerJobState) {
        #expect(SlurmLauncher.state(fromShowJob: line) == state)
    }

    @Test func workersInClonesNeedSlurmAndARemote() throws {
        let repo = try parallelRepository()
        for (arguments, message) in [(["--launcher", "slurm"], "--worker-tree clone needs --sync REMOTE"),
                                     (["--jobs", "2", "--sync", repo.path], "--worker-tree clone needs --launcher slurm")] {
            let result = try Tool.run(["loop", "--worker-tree", "clone", "--max-runs", "1", "--agent", "true"] + arguments, in: repo)
            #expect(result.status == 64)
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
        let unknown = try Tool.run(["loop", "--launcher", "slurm", "--worker-tree", "nfs", "--agent", "true"], in: repo)
        #expect(unknown.stderr.contains("--worker-tree takes shared or clone, got 'nfs'"), "\(unknown.stderr)")
    }

    @Test func optionsTheLoopSetsOrThatAreNoOptionsAreRefused() throws {
        try SlurmLauncher.check(arguments: ["--gres=gpu:1", "--partition=gpu", "-t", "--time=10", "-N1"])
        for (arguments, message) in [(["--output=x"], "--output is set by the loop"), (["-ox"], "-o is set by the loop"),
                                     (["--chdir=/"], "--chdir is set by the loop"), (["gpu"], "'gpu' is not an sbatch option")] {
            #expect(throws: AutoresearchError.self) { try SlurmLauncher.check(arguments: arguments) }
            do { try SlurmLauncher.check(arguments: arguments) } catch { #expect("\(error)".contains(message), "\(error)") }
        }
    }
}
