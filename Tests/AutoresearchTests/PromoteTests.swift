import Foundation
import Testing
import Fixtures

/// Experiment `s` with a baseline (score 10) and a kept run (score 5, `candidate.txt` changed and
/// `kept-new.txt` added) on top of `main`. HEAD is on `autoresearch/s`; returns the best commit.
private func repositoryWithBest() throws -> (repo: TempRepository, best: String) {
    let repo = try scenarioRepository()
    #expect(try Tool.run(["run"], in: repo).status == 0)
    try repo.write("candidate.txt", "value 5\n")
    try repo.write("kept-new.txt", "part of the best\n")
    #expect(try Tool.run(["run", "-m", "better"], in: repo).status == 0)
    return (repo, try repo.gitLine("rev-parse", "autoresearch/s"))
}

private func promote(_ repo: TempRepository, _ arguments: [String] = []) throws -> ProcessOutput {
    try Tool.run(["promote"] + arguments, in: repo)
}

private func promoteJSON(_ repo: TempRepository, _ arguments: [String] = []) throws -> (status: Int32, object: [String: Any]) {
    let output = try promote(repo, ["--format", "json"] + arguments)
    return (output.status, (try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8))) as? [String: Any] ?? [:])
}

@Suite struct PromoteTests {
    @Test func fastForwardsTheCheckedOutBranchAndItsWorkTree() throws {
        let (repo, best) = try repositoryWithBest()
        try repo.git(["switch", "-q", "main"])
        try repo.write("scratch.txt", "untracked, in nobody's way\n")

        let (status, object) = try promoteJSON(repo)
        #expect(status == 0)
        #expect(object["mode"] as? String == "fast-forward")
        #expect(object["into"] as? String == "main")
        #expect(object["commit"] as? String == best)
        #expect(object["best_commit"] as? String == best)
        #expect(object["value"] as? Double == 5)
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

        let output = try promote(repo)
        #expect(output.status == 0, "\(output.stderr)")
        let merge = try repo.gitLine("rev-parse", "main")
        #expect(output.stdout.contains("into main: merge commit \(merge.prefix(7))"))
        #expect(try repo.gitLine("rev-list", "--parents", "-n", "1", merge) == "\(merge) \(mainBefore) \(best)")
        let message = try repo.git(["log", "-1", "--format=%B", merge])
        let record = try repo.gitLine("notes", "--ref=autoresearch", "show", best)
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

        let output = try promote(repo, ["--into", "main"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("conflicts in candidate.txt"), "\(output.stderr)")
        #expect(output.stderr.contains("git merge "))
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
        let output = try promote(repo)
        #expect(output.status == 1)
        #expect(output.stderr.contains(expected), "\(output.stderr)")
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

        let output = try promote(repo, ["--into", "main"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("checked out in another work tree"), "\(output.stderr)")
        #expect(try repo.gitLine("rev-parse", "main") == mainBefore)
    }

    @Test func reportsUpToDateAndWritesNothing() throws {
        let (repo, best) = try repositoryWithBest()
        #expect(try promote(repo, ["--into", "refs/heads/main"]).status == 0)
        let reflog = try repo.git(["reflog", "main"])

        let output = try promote(repo, ["--into", "main"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("already up to date"))
        #expect(try promoteJSON(repo, ["--into", "main"]).object["mode"] as? String == "up-to-date")
        #expect(try repo.gitLine("rev-parse", "main") == best)
        #expect(try repo.git(["reflog", "main"]) == reflog)
    }

    @Test func bringsTheTipWhenItIsAMergeWithTheBestsTree() throws {
        let (repo, best) = try repositoryWithBest()
        let side = try repo.gitLine("commit-tree", "\(best)^{tree}", "-p", "main", "-m", "a worker's branch")
        let tip = try repo.gitLine("commit-tree", "\(best)^{tree}", "-p", best, "-p", side, "-m", "merge the workers")
        try repo.git(["update-ref", "refs/heads/autoresearch/s", tip])
        try repo.git(["switch", "-q", "main"])

        let (status, object) = try promoteJSON(repo)
        #expect(status == 0)
        #expect(object["mode"] as? String == "fast-forward")
        #expect(object["best_commit"] as? String == best)
        #expect(try repo.gitLine("rev-parse", "main") == tip)
        #expect(try repo.gitLine("status", "--porcelain") == "")
    }

    @Test func explainsWhatToDoWhenThereIsNothingToPromoteOrNowhereToPromoteIt() throws {
        let repo = try scenarioRepository()
        let noBest = try promote(repo, ["--into", "main"])
        #expect(noBest.status == 1)
        #expect(noBest.stderr.contains("no kept run yet"), "\(noBest.stderr)")

        #expect(try Tool.run(["run"], in: repo).status == 0)
        let onExperiment = try promote(repo)
        #expect(onExperiment.status == 1)
        #expect(onExperiment.stderr.contains("--into"), "\(onExperiment.stderr)")

        let missing = try promote(repo, ["--into", "release"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no branch 'release'"), "\(missing.stderr)")
        #expect(try runProgram("/usr/bin/git", ["rev-parse", "--verify", "-q", "refs/heads/release"], in: repo.path).status != 0)
    }
}
