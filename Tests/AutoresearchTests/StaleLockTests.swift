import Foundation
import Testing
import Fixtures

extension TempRepository {
    /// Creates an empty file at `relativePath` (directories created), last written `age` ago
    /// (`touch -d`), as a process killed while holding a lock leaves it.
    func plantLock(_ relativePath: String, age: String = "10 minutes ago") throws {
        let full = path + "/" + relativePath
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let touched = try runProgram("/usr/bin/touch", ["-d", age, full], in: path)
        #expect(touched.status == 0, "\(touched.stderr)")
    }
}

@Suite(.ownThreads) struct StaleLockTests {
    /// An agent that writes a new value, then leaves a lock on the notes as if a process were
    /// killed while writing them: the lock appears after the command's sweep.
    static let agentLeavingANotesLock = """
    echo "value $((10 - AUTORESEARCH_ITERATION))" > candidate.txt
    touch -d '10 minutes ago' "$(git rev-parse --git-common-dir)/refs/notes/autoresearch.lock"

    """

    @Test func aStaleLockOnTheNotesIsClearedAndTheLoopRecordsEveryRun() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.plantLock(".git/refs/notes/autoresearch.lock")
        try repo.plantLock(".git/refs/heads/main.lock")
        let result = try loopJSON(repo, ["--agent", try repo.agent(Self.agentLeavingANotesLock), "--max-runs", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("old): \(repo.path)/.git/refs/notes/autoresearch.lock"), "\(result.stderr)")
        #expect(!repo.exists(".git/refs/notes/autoresearch.lock"))
        #expect(repo.exists(".git/refs/heads/main.lock"), "the user's lock files are not ours")
        #expect(try repo.ledgerLines().count == 3)
        let logTails = Set(try Fixtures.noteLines(of: repo.path).filter { $0.hasPrefix("log=") }.compactMap { TempRepository.field("run", $0) })
        #expect(logTails.count == 3, "every run's log tail is kept")
        try repo.fsck()
    }

    /// The same for the experiment branch, whose lock the agent leaves after the loop's first
    /// sweep: the move of the branch to the candidate fails on it, removes it, and moves.
    @Test func aStaleLockOnTheExperimentBranchIsClearedWhenTheBranchMoves() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        let agent = try repo.agent("""
        echo "value $((10 - AUTORESEARCH_ITERATION))" > candidate.txt
        touch -d '10 minutes ago' "$(git rev-parse --git-common-dir)/refs/heads/autoresearch/s.lock"

        """)
        let result = try loopJSON(repo, ["--agent", agent, "--max-runs", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("old): \(repo.path)/.git/refs/heads/autoresearch/s.lock"), "\(result.stderr)")
        #expect(!repo.exists(".git/refs/heads/autoresearch/s.lock"))
        #expect(try repo.ledgerLines().count == 3)
        #expect(try repo.gitLine("rev-parse", "autoresearch/s") == (try repo.gitLine("rev-parse", "HEAD")))
        try repo.fsck()
    }

    @Test func staleWorkerLeftoversAreClearedBeforeTheWorkersStart() throws {
        let repo = try parallelRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.git(["branch", "autoresearch-workers/s/1", "autoresearch/s"])
        try repo.plantLock(".git/refs/heads/autoresearch-workers/s/1.lock")
        try FileManager.default.createDirectory(atPath: repo.path + "/.git/worktrees/autoresearch-s-1", withIntermediateDirectories: true)

        try repo.write("value.txt", "400\n")
        let single = try Tool.run(["run"], in: repo)
        #expect(single.status == 0, "\(single.stderr)")
        #expect(single.stderr.contains("removed a stale lock file"), "\(single.stderr)")
        #expect(single.stderr.contains("removed \(repo.path)/.git/worktrees/autoresearch-s-1"), "\(single.stderr)")

        try FileManager.default.createDirectory(atPath: repo.path + "/.git/worktrees/autoresearch-s-1", withIntermediateDirectories: true)
        let result = try loopJSON(repo, ["--jobs", "2", "--max-runs", "4", "--agent", try repo.agent(randomValueAgent)])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.summary["runs"] as? Int == 4)
        #expect(try repo.ledgerLines().count == 6)
        try repo.expectNoWorkerLeft()
        try repo.fsck()
    }

    /// A loop killed while adding (or removing) a worker's work tree leaves administrative files
    /// without HEAD, which `git fsck` reports: the next `status` removes them with the worker's
    /// branch, as the next loop would.
    @Test func statusRemovesWhatAKilledLoopLeftOfAWorkersWorkTree() throws {
        let repo = try parallelRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.git(["branch", "autoresearch-workers/s/2", "autoresearch/s"])
        let administrative = repo.path + "/.git/worktrees/autoresearch-s-2"
        try FileManager.default.createDirectory(atPath: administrative, withIntermediateDirectories: true)
        try "../..\n".write(toFile: administrative + "/commondir", atomically: true, encoding: .utf8)
        try "\(repo.path)/.git/autoresearch/s/workers/2/.git\n".write(toFile: administrative + "/gitdir", atomically: true, encoding: .utf8)
        #expect(throws: OracleError.self) { try repo.fsck() }

        let status = try Tool.run(["status"], in: repo)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stderr.contains("removed \(administrative), which an interrupted 'git worktree add' left"), "\(status.stderr)")
        #expect(!repo.exists(".git/worktrees/autoresearch-s-2"))
        #expect(try repo.gitLine("branch", "--list", "autoresearch-workers/*") == "")
        try repo.fsck()
        #expect(try Tool.run(["status"], in: repo).stderr == "", "nothing left to remove")
    }

    /// A repository with two runs pushed to `remote`.
    static func pushedRepository(to remote: TestRemote) throws -> TempRepository {
        let repo = try scenarioRepository()
        try repo.git(["remote", "add", "origin", remote.url])
        #expect(try Tool.run(["run"], in: repo).status == 0)
        #expect(try Tool.run(["push"], in: repo).status == 0)
        try repo.write("candidate.txt", "value 7\n")
        #expect(try Tool.run(["run"], in: repo).status == 0)
        return repo
    }

    static func expectSameRecords(_ repo: TempRepository, _ remote: TestRemote) throws {
        let ours = runIDs(try ledgerLines(inRepositoryAt: repo.path))
        #expect(ours.count == 2)
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: remote.bare.path))) == Set(ours))
        try remote.bare.fsck()
        try repo.fsck()
    }

    @Test func whatAKilledPushLeftInARemoteOnTheFileSystemIsCleared() throws {
        let remote = try TestRemote(.bareRepositoryPath)
        let repo = try Self.pushedRepository(to: remote)
        try remote.bare.plantLock("refs/notes/autoresearch.lock")
        let notes = try remote.bare.gitLine("rev-parse", "refs/notes/autoresearch")
        try remote.bare.git(["update-ref", "refs/autoresearch-incoming/999-abc/notes/autoresearch", notes])

        let push = try Tool.run(["push"], in: repo)
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stderr.contains("old): \(remote.bare.path)/refs/notes/autoresearch.lock"), "\(push.stderr)")
        #expect(push.stderr.contains("removed refs/autoresearch-incoming/999-abc/notes/autoresearch"), "\(push.stderr)")
        #expect(try remote.bare.gitLine("for-each-ref", "refs/autoresearch-incoming/") == "")
        try Self.expectSameRecords(repo, remote)
    }

    @Test func aYoungRemoteLockNobodyHoldsGoesOnceItStaysUnchanged() throws {
        let remote = try TestRemote(.bareRepositoryPath)
        let repo = try Self.pushedRepository(to: remote)
        try remote.bare.plantLock("refs/notes/autoresearch.lock", age: "now")
        let push = try Tool.run(["push"], in: repo)
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stderr.contains("removed a lock file left by a killed process (unchanged for"), "\(push.stderr)")
        #expect(!remote.bare.exists("refs/notes/autoresearch.lock"))
        try Self.expectSameRecords(repo, remote)
    }

    @Test func aRemoteLockALiveWriterKeepsRewritingStaysAndTheErrorNamesTheWayToBreakIt() throws {
        let remote = try TestRemote(.bareRepositoryPath)
        let repo = try Self.pushedRepository(to: remote)
        // A writer that keeps the lock busy, as a live one would (each write changes the file).
        let writer = try ChildProcess("/bin/sh", ["-c", "while :; do date +%N > refs/notes/autoresearch.lock; sleep 0.05; done"],
                                      in: remote.bare.path)
        defer { kill(writer.pid, SIGKILL); writer.wait() }
        #expect(waitUntil(seconds: 5) { remote.bare.exists("refs/notes/autoresearch.lock") })

        let refused = try Tool.run(["push"], in: repo)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("locked by \(remote.bare.path)/refs/notes/autoresearch.lock"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--break-stale-locks"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("another machine"), "\(refused.stderr)")

        kill(writer.pid, SIGKILL)
        writer.wait()
        let broken = try Tool.run(["push", "--break-stale-locks"], in: repo)
        #expect(broken.status == 0, "\(broken.stderr)")
        #expect(broken.stderr.contains("removed a stale lock file"), "\(broken.stderr)")
        #expect(!remote.bare.exists("refs/notes/autoresearch.lock"))
        try Self.expectSameRecords(repo, remote)
    }

    @Test func aStaleLockBehindGitDaemonIsNamedForTheRemotesAdministrator() throws {
        let remote = try TestRemote(.gitDaemon)
        let repo = try Self.pushedRepository(to: remote)
        try remote.bare.plantLock("refs/notes/autoresearch.lock")

        let refused = try Tool.run(["push"], in: repo)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("killed push left its lock file"), "\(refused.stderr)")
        #expect(refused.stderr.contains("refs/notes/autoresearch.lock"), "\(refused.stderr)")
        let breaking = try Tool.run(["push", "--break-stale-locks"], in: repo)
        #expect(breaking.status != 0)
        #expect(breaking.stderr.contains("not on this machine's file system"), "\(breaking.stderr)")
        #expect(remote.bare.exists("refs/notes/autoresearch.lock"), "the tool cannot reach it")
    }
}
