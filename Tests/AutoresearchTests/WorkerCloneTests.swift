@testable import Autoresearch
import Foundation
import Testing
import Fixtures

/// How a test names its bare remote to the clone.
enum RemoteAddress: CaseIterable, Sendable {
    case path, fileURL

    func url(of remote: TempRepository) -> String { self == .path ? remote.path : "file://" + remote.path }
}

/// The clone a worker of `loop --worker-tree clone` works in, made and checked without git:
/// `Workspace.clone` and `unsharedRecords`, the hidden `clone-for-worker` and `records-pushed`,
/// and the job script (`CloneWorker`) run with no git on its PATH.
@Suite(.ownThreads) struct WorkerCloneTests {
    /// A repository with experiment `s` and one run, pushed to a bare remote (`origin`).
    static func pushedExperiment() throws -> (repo: TempRepository, remote: TempRepository) {
        let repo = try scenarioRepository()
        let remote = try TempRepository(bare: true)
        try repo.git(["remote", "add", "origin", remote.path])
        try repo.runCandidate("value 7")
        try repo.push()
        return (repo, remote)
    }

    /// A path for a clone (not made yet), removed with the value.
    static func scratchClone() -> TempRepository {
        TempRepository(adopting: NSTemporaryDirectory() + "autoresearch-clone-\(UUID().uuidString)")
    }

    @Test(arguments: RemoteAddress.allCases)
    func aCloneHasTheExperimentBranchItsRecordsAndAttempts(address: RemoteAddress) throws {
        let (repo, remote) = try Self.pushedExperiment()
        let clone = Self.scratchClone()
        let url = address.url(of: remote)
        _ = try Workspace.clone(url, experiment: "s", into: clone.path)

        // As `git clone --branch autoresearch/s` would have it, read with git.
        #expect(try clone.gitLine("symbolic-ref", "HEAD") == "refs/heads/autoresearch/s")
        #expect(try clone.gitLine("rev-parse", "HEAD") == (try remote.gitLine("rev-parse", "autoresearch/s")))
        #expect(try clone.gitLine("remote", "get-url", "origin") == url)
        #expect(try clone.gitLine("rev-parse", "--abbrev-ref", "autoresearch/s@{upstream}") == "origin/autoresearch/s")
        #expect(try clone.git(["status", "--porcelain"]) == "")
        #expect(clone.read("candidate.txt") == "value 7")
        // The records and attempts came along.
        for ref in ["refs/notes/autoresearch", "refs/autoresearch/s/attempts"] {
            #expect(try clone.gitLine("rev-parse", ref) == (try remote.gitLine("rev-parse", ref)), "\(ref)")
        }
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: clone.path))) == Set(runIDs(try repo.ledgerLines())))
        #expect(try Workspace(discoveringFrom: clone.path).unsharedRecords(remote: Workspace.cloneRemote) == [])
        try clone.fsck()
    }

    @Test func aCloneOfWhatIsNotThereIsAClearErrorAndLeavesNothing() throws {
        let (_, remote) = try Self.pushedExperiment()
        let clone = Self.scratchClone()
        let missing = remote.path + "-missing.git"
        #expect(failure { _ = try Workspace.clone(missing, experiment: "s", into: clone.path) }.contains("no repository at \(missing)"))
        #expect(!FileManager.default.fileExists(atPath: clone.path))
        #expect(failure { _ = try Workspace.clone("git://127.0.0.1:1/r.git", experiment: "s", into: clone.path) }
            .contains("cannot reach origin (git://127.0.0.1:1/r.git)"))
        #expect(!FileManager.default.fileExists(atPath: clone.path))
        #expect(failure { _ = try Workspace.clone(remote.path, experiment: "t", into: clone.path) }
            .contains("\(remote.path) has no experiment 't' (no branch autoresearch/t)"))
        #expect(failure { _ = try Workspace.clone(remote.path, experiment: "../s", into: clone.path) }.contains("invalid experiment name"))
        // An empty directory given stays, empty; one with a file in it is refused and left as it was.
        try FileManager.default.createDirectory(atPath: clone.path, withIntermediateDirectories: false)
        _ = failure { _ = try Workspace.clone(missing, experiment: "s", into: clone.path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: clone.path) == [])
        try clone.write("notes.txt", "mine\n")
        #expect(failure { _ = try Workspace.clone(remote.path, experiment: "s", into: clone.path) }.contains("exists and is not empty"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: clone.path) == ["notes.txt"])
    }

    @Test func unsharedRecordsSayWhetherEverythingRecordedHereIsOnTheRemote() throws {
        // Nothing recorded: nothing to ask the remote (it is not even reached).
        let empty = try TempRepository()
        #expect(try empty.workspace().unsharedRecords(remote: empty.path + "-missing") == [])

        let (repo, remote) = try Self.pushedExperiment()
        #expect(try repo.workspace().unsharedRecords(remote: "origin") == [])
        try repo.runCandidate("value 5")
        #expect(try repo.workspace().unsharedRecords(remote: "origin").contains(Refs.notes))
        #expect(failure { _ = try repo.workspace().unsharedRecords(remote: remote.path + "-missing") }.contains("no repository at"))
        try repo.push()
        #expect(try repo.workspace().unsharedRecords(remote: "origin") == [])

        // Records another machine pushed on top of ours: ours are still all there.
        let clone = Self.scratchClone()
        _ = try Workspace.clone(remote.path, experiment: "s", into: clone.path)
        try clone.runCandidate("value 3")
        try clone.push()
        #expect(try remote.gitLine("rev-parse", "refs/notes/autoresearch") != (try repo.gitLine("rev-parse", "refs/notes/autoresearch")))
        #expect(try repo.workspace().unsharedRecords(remote: "origin") == [])
    }

    @Test func theHiddenCommandsExitAsTheJobScriptNeeds() throws {
        let (repo, remote) = try Self.pushedExperiment()
        let clone = Self.scratchClone()
        let made = try Tool.run(["clone-for-worker", "--experiment", "s", "--", remote.path, clone.path], in: repo)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(try Tool.run(["records-pushed"], in: clone).status == 0)
        try clone.git(["notes", "--ref", "autoresearch", "append", "-m", "a line of mine", "HEAD"])
        let unpushed = try Tool.run(["records-pushed"], in: clone)
        #expect(unpushed.status == 1)
        #expect(unpushed.stderr.contains("error: not on origin yet: refs/notes/autoresearch"), "\(unpushed.stderr)")
        let bad = try Tool.run(["clone-for-worker", "--experiment", "s", "--", remote.path + "-missing", clone.path + "-2"], in: repo)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("no repository at \(remote.path)-missing"), "\(bad.stderr)")
        // Hidden from the help.
        let help = try Tool.run(["--help"], in: repo).stdout
        #expect(help.contains("pull") && !help.contains("clone-for-worker") && !help.contains("records-pushed"))
    }

    /// Runs worker 0's job script for experiment `s` of `remote` with `command` as the worker,
    /// under `sh` with no git on its PATH and its scratch in `scratch`.
    static func runJobScript(remote: TempRepository, command: String, scratch: String) throws -> ProcessOutput {
        let script = CloneWorker.script(index: 0, program: Tool.path, remoteURL: remote.path, experiment: "s", options: "{}", command: command)
        let file = scratch + "/job.sh"
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        let path = try pathWithoutGit(under: scratch)
        return try runProgram("/bin/sh", [file], in: scratch, environment: ["PATH": path, "TMPDIR": scratch])
    }

    @Test func theJobScriptNeedsNoGitAndKeepsACloneOnlyWithUnpushedRecords() throws {
        let (_, remote) = try Self.pushedExperiment()
        let scratch = Self.scratchClone()
        try FileManager.default.createDirectory(atPath: scratch.path, withIntermediateDirectories: false)
        func clones() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix("autoresearch-w0.") } }

        // A worker that recorded nothing new: the clone goes, its exit status is the job's.
        let idle = try Self.runJobScript(remote: remote, command: "test -f .git/autoresearch-worker.options && exit 3", scratch: scratch.path)
        #expect(idle.status == 3, "\(idle.stderr)")
        #expect(try clones() == [])

        // A worker whose run is recorded here only: the clone stays, and the job says where.
        let run = "echo 'value 4' > candidate.txt && \(ShellText.quoted(Tool.path)) run -q -m mine"
        let unpushed = try Self.runJobScript(remote: remote, command: run, scratch: scratch.path)
        #expect(unpushed.status == 0, "\(unpushed.stderr)")
        let kept = try #require(try clones().first)
        #expect(unpushed.stderr.contains("worker 0: kept its clone \(scratch.path)/\(kept)/repo on "), "\(unpushed.stderr)")
        let lines = try ledgerLines(inRepositoryAt: scratch.path + "/" + kept + "/repo")
        #expect(lines.contains { $0.contains(" value=4 ") && $0.hasSuffix(" desc=mine") }, "\(lines)")
    }
}
