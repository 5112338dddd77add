import Foundation
import Testing
import Fixtures

/// Repositories that lack part of what the tool wrote: a shallow clone.
@Suite struct IncompleteHistoryTests {
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
}
