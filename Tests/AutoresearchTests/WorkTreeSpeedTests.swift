import Foundation
import Testing
import Fixtures

/// The work tree at git's speed: the stat data a run finds stale is written back to the index,
/// without losing an edit or a user's file. Checked with `git diff-files`, which lists the files
/// whose stat data differs from what the index caches.
@Suite(.ownThreads) struct WorkTreeSpeedTests {
    /// The scenario repository with 30 more committed files, a baseline measured.
    func measuredRepository() throws -> TempRepository {
        let repo = try scenarioRepository()
        try repo.commitFiles(Dictionary(uniqueKeysWithValues: (0..<30).map { ("src/f\($0).py", "x = \($0)\n") }), message: "sources")
        try repo.runIteration()
        return repo
    }

    func touchEveryFile(_ repo: TempRepository, except spared: String? = nil) throws {
        for path in try repo.git(["ls-files", "-z"]).split(separator: "\0") where String(path) != spared {
            try repo.setModificationTime(of: String(path), secondsFromIndex: -2)
        }
        #expect(try !repo.git(["diff-files", "--name-only"]).isEmpty)
    }

    @Test func runsOnATouchedTreeWriteTheRefreshedIndexBack() throws {
        let repo = try measuredRepository()
        try touchEveryFile(repo)
        #expect(try repo.runCandidate("value 5\n").status == .keep)
        #expect(try repo.gitLine("diff-files", "--name-only").isEmpty)
        try touchEveryFile(repo)
        #expect(try repo.runCandidate("value 50\n").status == .discard)
        #expect(try repo.gitLine("diff-files", "--name-only").isEmpty)
        #expect(try repo.gitLine("status", "--porcelain").isEmpty)
        try repo.fsck()
    }

    /// An edit in the same clock tick as the index write, keeping the file's size and time: only
    /// git's racy rule (an entry as new as the index is suspect) tells it, and a refresh in the
    /// same run must not lose it.
    @Test func anEditInTheSameTickAsTheIndexWriteIsTheNextCandidate() throws {
        let repo = try measuredRepository()
        try repo.git(["config", "core.trustctime", "false"])
        #expect(try repo.runCandidate("value 7\n").status == .keep)
        // Stale stat data elsewhere, so this run refreshes the index too.
        try touchEveryFile(repo, except: "candidate.txt")
        try runProgram("/usr/bin/touch", ["-r", "candidate.txt", ".git/index"], in: repo.path)
        let handle = try #require(FileHandle(forUpdatingAtPath: repo.path + "/candidate.txt"))
        handle.write(Data("value 6\n".utf8))
        handle.closeFile()
        try runProgram("/usr/bin/touch", ["-r", ".git/index", "candidate.txt"], in: repo.path)
        let run = try repo.runIteration(message: "value 6")
        #expect(run.status == .keep)
        #expect(try repo.gitLine("show", "\(run.commit):candidate.txt") == "value 6")
        #expect(try repo.gitLine("status", "--porcelain").isEmpty)
    }

    @Test func aDirtyTreeOnAnotherBranchIsStillRefusedUntouched() throws {
        let repo = try measuredRepository()
        try repo.git(["switch", "-q", "main"])
        try touchEveryFile(repo)
        try repo.write("candidate.txt", "value 3\n")
        let message = failure { try repo.runIteration() }
        #expect(message.contains("uncommitted changes"), "\(message)")
        #expect(repo.read("candidate.txt") == "value 3\n")
        #expect(try repo.gitLine("symbolic-ref", "--short", "HEAD") == "main")
    }
}
