import Foundation
import Testing
import Fixtures

/// Repositories that lack part of what the tool wrote: a shallow clone, a deleted experiment branch.
@Suite(.ownThreads) struct IncompleteHistoryTests {
    /// The scenario repository after a baseline, a keep and a discard; returns the best commit.
    static func threeRuns(_ repo: TempRepository) throws -> String {
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.write("candidate.txt", "value 5\n")
        #expect(try Tool.run(["run", "-m", "better"], in: repo).status == 0)
        let best = try repo.gitLine("rev-parse", "autoresearch/s")
        try repo.write("candidate.txt", "value 7\n")
        #expect(try Tool.run(["run", "-m", "worse"], in: repo).status == 10)
        return best
    }

    static func expectShallowCloneHint(_ output: ProcessOutput) {
        #expect(output.status == 1)
        #expect(output.stderr.contains("error: this is a shallow clone ("), "\(output.stderr)")
        #expect(output.stderr.contains("hint: fetch the whole history with 'git fetch --unshallow'"), "\(output.stderr)")
        #expect(!output.stderr.contains("another machine"))
        #expect(!output.stderr.contains("object not found"))
    }

    @Test func aShallowCloneSaysSoAndHowToFetchTheRest() throws {
        let origin = try scenarioRepository()
        let best = try Self.threeRuns(origin)
        let clone = try TempRepository(cloneOf: "file://" + origin.path, depth: 1)
        #expect(try clone.gitLine("rev-parse", "--is-shallow-repository") == "true")

        for command in [["status"], ["pull"], ["push"], ["run"]] {
            Self.expectShallowCloneHint(try Tool.run(command, in: clone))
            try clone.fsck()
        }

        try clone.git(["fetch", "-q", "--unshallow"])
        #expect(try Tool.run(["pull"], in: clone).status == 0)
        try clone.fsck()
        let status = try Tool.run(["status", "--format", "json"], in: clone)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("\"best_commit\":\"\(best)\""), "\(status.stdout)")
    }

    @Test func aDeletedBranchIsRestoredAtItsBestFromTheLedger() throws {
        let repo = try scenarioRepository()
        let best = try Self.threeRuns(repo)
        try repo.git(["switch", "-q", "main"])
        try repo.git(["branch", "-q", "-D", "autoresearch/s"])
        let restore = "git branch autoresearch/s \(best)"

        let status = try Tool.run(["status"], in: repo)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("branch autoresearch/s is gone"), "\(status.stdout)")
        #expect(status.stdout.contains(restore), "\(status.stdout)")
        #expect(try Tool.run(["list"], in: repo).stdout.contains("s (branch gone)"))
        let log = try Tool.run(["log", "--format", "tsv"], in: repo)
        #expect(log.stdout.split(separator: "\n").count == 4, "\(log.stdout)\(log.stderr)")

        let run = try Tool.run(["run"], in: repo)
        #expect(run.status == 1)
        #expect(run.stderr.contains("branch autoresearch/s is gone"), "\(run.stderr)")
        #expect(run.stderr.contains(restore))
        #expect(!run.stderr.contains("unknown experiment"))

        try repo.git(restore.split(separator: " ").dropFirst().map(String.init))
        #expect(try repo.gitLine("rev-parse", "autoresearch/s") == best)
        try repo.git(["switch", "-q", "autoresearch/s"])
        try repo.write("candidate.txt", "value 3\n")
        #expect(try Tool.run(["run", "-m", "better still"], in: repo).status == 0)
        try repo.fsck()
    }
}
