import Foundation
import Testing
import Fixtures

extension TempRepository {
    /// Every path any commit of the repository (attempts chain included) touched, by the git CLI.
    func pathsInAnyCommit() throws -> Set<String> {
        Set(try git(["log", "--all", "--name-only", "--format="]).split(separator: "\n").map(String.init))
    }

    /// The kibibytes the git directory takes on disk, by `du`.
    func gitDirectoryKiB() throws -> Int {
        let output = try runProgram("/usr/bin/du", ["-sk", ".git"], in: path)
        return Int(output.stdout.split(separator: "\t").first ?? "") ?? -1
    }
}

@Suite(.ownThreads) struct UserFilesTests {
    @Test func aUsersUntrackedFileSurvivesALoopAndIsInNoCandidate() throws {
        let repo = try scenarioRepository()
        try repo.commitFiles(["candidate.txt": "value 100\n"], message: "start at 100")
        try repo.write("data/keep.txt", "mine\n")
        let agent = try repo.agent(LoopTests.scriptedAgent)
        let loop = try loopJSON(repo, ["--agent", agent, "--max-runs", "10"])
        #expect(loop.status == 0, "\(loop.stderr)")
        let statuses = loop.runs.compactMap { $0["status"] as? String }
        #expect(statuses.count == 10 && statuses.contains("keep") && statuses.contains("discard"), "\(statuses)")
        #expect(loop.stderr.contains("leaving alone 1 untracked file that were here before the loop"), "\(loop.stderr)")
        #expect(loop.stderr.contains("data/keep.txt"))
        #expect(repo.read("data/keep.txt") == "mine\n")
        #expect(try repo.gitLine("status", "--porcelain") == "?? data/")
        let committed = try repo.pathsInAnyCommit()
        #expect(!committed.contains("data/keep.txt"))
        // The agent's new file (iteration 6, discarded) is its candidate's, and went with the discard.
        #expect(committed.contains("notes-6.txt"))
        #expect(!repo.exists("notes-6.txt"))
    }

    @Test func aRepairAfterAKillDuringTheAgentStepLeavesTheUsersFile() throws {
        let run = try SignalledLoop(signal: SIGKILL, duringAgent: true, userFile: "data/keep.txt")
        #expect(run.toolStatus == 128 + SIGKILL)
        #expect(waitUntil(seconds: 3) { !processExists(run.child) })
        let status = try Tool.run(["status"], in: run.repo)
        #expect(status.stderr.contains("repaired an unfinished run"), "\(status.stderr)")
        #expect(run.repo.read("data/keep.txt") == "mine\n")
        #expect(!run.repo.exists("idea.txt"))
        let saved = try run.lastAttempt()
        #expect(try run.repo.gitLine("show", "\(saved):idea.txt") == "half-written idea")
        #expect(!(try run.repo.pathsInAnyCommit().contains("data/keep.txt")))
    }

    @Test func aReportWrittenIntoTheWorkTreeIsNotAChangeUntilTheUserEditsIt() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        #expect(try Tool.run(["report", "-o", "EXPERIMENTS.md"], in: repo).status == 0)
        #expect(try Tool.run(["export", "-o", "results.tsv"], in: repo).status == 0)
        let run = try Tool.run(["run"], in: repo)
        #expect(run.status == 14, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("leaving alone what git-autoresearch wrote"), "\(run.stderr)")
        #expect(repo.read("EXPERIMENTS.md")?.isEmpty == false)
        #expect(repo.exists("results.tsv"))

        try repo.write("EXPERIMENTS.md", "my notes\n")
        let edited = try runJSON(repo)
        #expect(edited.status == 10, "an edited report is the user's change, evaluated")
        #expect(try repo.gitLine("show", "--name-only", "--format=", edited.object["commit"] as? String ?? "") == "EXPERIMENTS.md")
    }

    @Test func aDiscardInRunSaysHowToBringBackTheFilesItTook() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.write("candidate.txt", "value 20\n")
        try repo.write("ideas/it's new.txt", "an idea\n")
        let run = try Tool.run(["run"], in: repo)
        #expect(run.status == 10, "\(run.stderr)")
        #expect(!repo.exists("ideas/it's new.txt"))
        let line = try #require(run.stderr.split(separator: "\n").first { $0.contains("git restore") })
        #expect(line.contains("2 files"))
        let command = String(line[line.range(of: "git restore")!.lowerBound...])
        let restored = try runProgram("/bin/sh", ["-c", command], in: repo.path)
        #expect(restored.status == 0, "\(command): \(restored.stderr)")
        #expect(repo.read("ideas/it's new.txt") == "an idea\n")
        #expect(repo.read("candidate.txt") == "value 20\n")
    }

    @Test func anAgentsOversizedFileIsRejectedBeforeAnythingIsCommitted() throws {
        let repo = try scenarioRepository()
        let agent = try repo.agent("""
        if [ "$AUTORESEARCH_ITERATION" = 2 ]; then head -c 62914560 /dev/urandom > big.bin; echo "value 5" > candidate.txt
        else echo "value $((10 - AUTORESEARCH_ITERATION))" > candidate.txt; fi

        """)
        let before = try repo.gitDirectoryKiB()
        let loop = try loopJSON(repo, ["--agent", agent, "--max-runs", "3"])
        #expect(loop.status == 0, "\(loop.stderr)")
        let rejected = try #require(loop.runs.count == 3 ? loop.runs[1] : nil)
        #expect(rejected["status"] as? String == "rejected")
        let reason = rejected["reason"] as? String ?? ""
        #expect(reason.contains("big.bin (60.0 MiB)") && reason.contains("50.0 MiB limit of a file"), "\(reason)")
        #expect(loop.runs[2]["status"] as? String == "keep", "the loop goes on")
        #expect(!repo.exists("big.bin"))
        #expect(try repo.gitLine("status", "--porcelain") == "")
        #expect(try repo.gitDirectoryKiB() - before < 10 * 1024, "nothing of the 60 MB went into .git")
    }

    @Test func theSizeLimitsAreSetByInitAndARunLeavesAPersonsFilesAsTheyAre() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        #expect(try Tool.run(["report", "-o", "EXPERIMENTS.md"], in: repo).status == 0)
        let configured = try Tool.run(["init", "--name", "s", "--max-file-size", "1000", "--max-candidate-size", "1500"], in: repo)
        #expect(configured.status == 0, "init is not stopped by the report: \(configured.stderr)")
        #expect(try repo.gitLine("config", "-f", ".autoresearch", "experiment.s.maxFileSize") == "1000")
        #expect(try repo.gitLine("config", "-f", ".autoresearch", "experiment.s.maxCandidateSize") == "1500")
        try repo.write("model.bin", String(repeating: "x", count: 2000))
        let run = try runJSON(repo)
        #expect(run.status == 16)
        let reason = run.object["reason"] as? String ?? ""
        #expect(reason.contains("model.bin (2.0 KiB)") && reason.contains("1000 B limit of a file"), "\(reason)")
        #expect(reason.contains("1.5 KiB limit of a candidate"), "\(reason)")
        #expect(repo.read("model.bin")?.count == 2000, "a person's change stays as it was")
        #expect(!(try repo.pathsInAnyCommit().contains("model.bin")))
    }
}
