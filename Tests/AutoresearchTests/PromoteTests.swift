import Autoresearch
import Foundation
import Testing
import Fixtures

/// Experiment `s` with a baseline (score 10) and a kept run (score 5, `candidate.txt` changed and
/// `kept-new.txt` added) on top of `main`. HEAD is on `autoresearch/s`; returns the best commit.
private func repositoryWithBest() throws -> (repo: TempRepository, best: String) {
    let repo = try scenarioRepository()
    try repo.runIteration()
    try repo.write("candidate.txt", "value 5\n")
    try repo.write("kept-new.txt", "part of the best\n")
    #expect(try repo.runIteration(message: "better").status == .keep)
    return (repo, try repo.gitLine("rev-parse", "autoresearch/s"))
}

extension TempRepository {
    /// `promote` in process: the best of experiment `s` into `branch` (nil: the checked-out branch).
    fileprivate func promote(into branch: String? = nil) throws -> Promotion {
        try workspace().promote(experiment: "s", into: branch)
    }
}

@Suite(.ownThreads) struct PromoteTests {
    @Test func fastForwardsTheCheckedOutBranchAndItsWorkTree() throws {
        let (repo, best) = try repositoryWithBest()
        try repo.git(["switch", "-q", "main"])
        try repo.write("scratch.txt", "untracked, in nobody's way\n")

        let promotion = try repo.promote()
        #expect(promotion.mode == .fastForward)
        #expect(promotion.branchName == "main")
        #expect(promotion.commit.hex == best)
        #expect(promotion.best.commit.hex == best)
        #expect(promotion.value == 5)
        #expect(try repo.gitLine("rev-parse", "main") == best)
        #expect(try repo.gitLine("symbolic-ref", "HEAD") == "refs/heads/main")
        #expect(try repo.gitLine("status", "--porcelain") == "?? scratch.txt")
        #expect(repo.read("candidate.txt") == "value 5\n")
        #expect(repo.read("kept-new.txt") == "part of the best\n")
        #expect(repo.read("scratch.txt") == "untracked, in nobody's way\n")
        try repo.fsck()
    }

    @Test func mergesWhenTheBranchHasItsOwnCommits() throws {
        let (repo, best) = try repositoryWithBest()
        try repo.git(["switch", "-q", "main"])
        let mainBefore = try repo.commitFiles(["NOTES.md": "written on main\n"], message: "main's own work")

        let promotion = try repo.promote()
        let merge = try repo.gitLine("rev-parse", "main")
        #expect(promotion.mode == .merge)
        #expect(promotion.commit.hex == merge)
        #expect(try repo.gitLine("rev-list", "--parents", "-n", "1", merge) == "\(merge) \(mainBefore) \(best)")
        let message = try repo.git(["log", "-1", "--format=%B", merge])
        // The record, without the log lines kept after it in its note.
        let record = try repo.git(["notes", "--ref=autoresearch", "show", best]).split(separator: "\n").first { !$0.hasPrefix("log=") } ?? "no record"
        #expect(message.hasPrefix("Promote autoresearch/s: score=5 (run "))
        #expect(message.contains("\n\n\(record)\n"))
        #expect(repo.read("candidate.txt") == "value 5\n")
        #expect(repo.read("kept-new.txt") == "part of the best\n")
        #expect(repo.read("NOTES.md") == "written on main\n")
        #expect(try repo.gitLine("show", "\(merge):NOTES.md") == "written on main")
        #expect(try repo.gitLine("status", "--porcelain") == "")
        try repo.fsck()
    }

    @Test func refusesAConflictingMerge() throws {
        let (repo, _) = try repositoryWithBest()
        try repo.git(["switch", "-q", "main"])
        let mainBefore = try repo.commitFiles(["candidate.txt": "value 7\n"], message: "a different value on main")
        try repo.git(["switch", "-q", "autoresearch/s"])

        let error = failure { _ = try repo.promote(into: "main") }
        #expect(error.contains("conflicts in candidate.txt"), "\(error)")
        #expect(error.contains("git merge "), "\(error)")
        #expect(try repo.gitLine("rev-parse", "main") == mainBefore)
        #expect(try repo.gitLine("show", "main:candidate.txt") == "value 7")
    }

    /// Writes `file` in main's work tree, then checks that promote is refused with a message
    /// containing `expected` and leaves the file and main as they were.
    func expectRefusal(writing file: String, says expected: String) throws -> TempRepository {
        let (repo, _) = try repositoryWithBest()
        try repo.git(["switch", "-q", "main"])
        let mainBefore = try repo.gitLine("rev-parse", "main")
        try repo.write(file, "mine\n")
        let error = failure { _ = try repo.promote() }
        #expect(error.contains(expected), "\(error)")
        #expect(repo.read(file) == "mine\n")
        #expect(try repo.gitLine("rev-parse", "main") == mainBefore)
        return repo
    }

    @Test func refusesWhenTrackedFilesAreChanged() throws {
        _ = try expectRefusal(writing: "candidate.txt", says: "uncommitted changes (candidate.txt)")
    }

    @Test func neverOverwritesAnUntrackedFile() throws {
        let repo = try expectRefusal(writing: "kept-new.txt", says: "kept-new.txt")
        #expect(repo.read("candidate.txt") == "value 10\n")
        #expect(try repo.gitLine("status", "--porcelain") == "?? kept-new.txt")
    }

    @Test func refusesABranchCheckedOutInAnotherWorkTree() throws {
        let (repo, _) = try repositoryWithBest()
        let mainBefore = try repo.gitLine("rev-parse", "main")
        let other = repo.path + "-worktree"
        defer { try? FileManager.default.removeItem(atPath: other) }
        try repo.git(["worktree", "add", "-q", other, "main"])

        let error = failure { _ = try repo.promote(into: "main") }
        #expect(error.contains("checked out in another work tree"), "\(error)")
        #expect(try repo.gitLine("rev-parse", "main") == mainBefore)
    }

    @Test func reportsUpToDateAndWritesNothing() throws {
        let (repo, best) = try repositoryWithBest()
        #expect(try repo.promote(into: "refs/heads/main").mode == .fastForward)
        let reflog = try repo.git(["reflog", "main"])

        // The binary says so, in text and in JSON.
        let output = try Tool.run(["promote", "--into", "main"], in: repo)
        #expect(output.status == 0)
        #expect(output.stdout.contains("already up to date"))
        let json = try Tool.run(["promote", "--format", "json", "--into", "main"], in: repo).stdout
        #expect(json.contains("\"mode\":\"up-to-date\""), "\(json)")
        #expect(try repo.promote(into: "main").mode == .upToDate)
        #expect(try repo.gitLine("rev-parse", "main") == best)
        #expect(try repo.git(["reflog", "main"]) == reflog)
    }

    @Test func bringsTheTipWhenItIsAMergeWithTheBestsTree() throws {
        let (repo, best) = try repositoryWithBest()
        let side = try repo.gitLine("commit-tree", "\(best)^{tree}", "-p", "main", "-m", "a worker's branch")
        let tip = try repo.gitLine("commit-tree", "\(best)^{tree}", "-p", best, "-p", side, "-m", "merge the workers")
        try repo.git(["update-ref", "refs/heads/autoresearch/s", tip])
        try repo.git(["switch", "-q", "main"])

        let promotion = try repo.promote()
        #expect(promotion.mode == .fastForward)
        #expect(promotion.best.commit.hex == best)
        #expect(try repo.gitLine("rev-parse", "main") == tip)
        #expect(try repo.gitLine("status", "--porcelain") == "")
    }

    @Test func explainsWhatToDoWhenThereIsNothingToPromoteOrNowhereToPromoteIt() throws {
        let repo = try scenarioRepository()
        let noBest = failure { _ = try repo.promote(into: "main") }
        #expect(noBest.contains("no kept run yet"), "\(noBest)")

        try repo.runIteration()
        let onExperiment = failure { _ = try repo.promote() }
        #expect(onExperiment.contains("--into"), "\(onExperiment)")

        let missing = failure { _ = try repo.promote(into: "release") }
        #expect(missing.contains("no branch 'release'"), "\(missing)")
        #expect(try runProgram("/usr/bin/git", ["rev-parse", "--verify", "-q", "refs/heads/release"], in: repo.path).status != 0)
    }
}
