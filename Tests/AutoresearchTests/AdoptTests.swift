import Autoresearch
import Foundation
import Testing
import Fixtures

/// `status` pointing out a fetched remote best better than ours, and `adopt` taking it.
@Suite(.ownThreads) struct AdoptTests {
    /// Two clones of one bare remote: the first kept 100 (better than the baseline 500) and
    /// pushed it; the second has only the baseline (and has not pulled since).
    static func remoteWithBetterBestNotYetPulled() throws -> (remote: TestRemote, first: TempRepository, second: TempRepository) {
        let remote = try TestRemote(.bareRepositoryPath)
        let first = try parallelRepository()
        try first.git(["remote", "add", "origin", remote.bare.path])
        try first.runIteration()
        try first.push()
        let second = try SharingTests.clone(remote.bare.path)
        #expect(try first.runCandidate("100\n", file: "value.txt").status == .keep)
        try first.push()
        return (remote, first, second)
    }

    /// As `remoteWithBetterBestNotYetPulled`, the second having pulled the better best.
    static func remoteWithBetterBest() throws -> (remote: TestRemote, first: TempRepository, second: TempRepository) {
        let shared = try remoteWithBetterBestNotYetPulled()
        try shared.second.pull()
        return shared
    }

    @Test func statusSaysThatTheRemotesBestIsBetterAndHowToAdoptIt() throws {
        let (remote, first, second) = try Self.remoteWithBetterBest()
        let better = try second.workspace().betterRemoteBests(experiment: "s")
        #expect(better.map(\.remote) == ["origin"])
        #expect(better.first?.best.record.value == 100)
        #expect(better.first?.best.commit.hex == (try first.gitLine("rev-parse", "autoresearch/s")))
        #expect(better.first?.incomparable == nil)
        let text = try Tool.run(["status"], in: second)
        #expect(text.status == 0)
        #expect(text.stdout.contains("origin's best is better: 100 at ") && text.stdout.contains("adopt it with: git autoresearch adopt origin"),
                "\(text.stdout)")
        let json = try Tool.run(["status", "--format", "json"], in: second)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let remotes = object?["better_remote_bests"] as? [[String: Any]]
        #expect(remotes?.first?["best_value"] as? Double == 100)
        #expect(remotes?.first?["adopt"] as? String == "git autoresearch adopt origin")
        // The first machine's own best is the better one: nothing to say there.
        try first.pull()
        #expect(try first.workspace().betterRemoteBests(experiment: "s").isEmpty)
        #expect(!(try Tool.run(["status"], in: first).stdout.contains("best is better")))
        try remote.bare.fsck()
    }

    @Test func adoptMovesTheBranchToTheRemotesBestAndMeasuresItHere() throws {
        let (remote, first, second) = try Self.remoteWithBetterBest()
        let events = RecordedEvents()
        let adoption = try second.workspace().adopt(experiment: "s", from: "origin", trustRemoteBest: false, events: events.events)
        #expect(adoption.adopted)
        #expect(adoption.notice.contains("adopted the best from origin"), "\(adoption.notice)")
        #expect(adoption.recheck?.record.status == .recheck)
        #expect(adoption.recheck?.record.value == 100)
        #expect(events.noticed("measured the adopted best again here"), "\(events.notices)")
        #expect(try second.gitLine("rev-parse", "autoresearch/s") == (try first.gitLine("rev-parse", "autoresearch/s")))
        #expect(second.read("value.txt") == "100\n")
        #expect(try second.gitLine("status", "--porcelain") == "")
        #expect(try second.workspace().betterRemoteBests(experiment: "s").isEmpty)
        // Adopting again finds nothing better.
        let again = try second.workspace().adopt(experiment: "s", from: "origin", trustRemoteBest: true)
        #expect(!again.adopted && again.recheck == nil)
        try second.fsck()
        try remote.bare.fsck()
    }

    @Test func adoptRefusesUncommittedChangesAndTouchesNothing() throws {
        let (remote, _, second) = try Self.remoteWithBetterBest()
        let before = try second.gitLine("rev-parse", "autoresearch/s")
        try second.write("value.txt", "321\n")
        let result = try Tool.run(["adopt", "origin", "--trust-remote-best"], in: second)
        #expect(result.status == 1)
        #expect(result.stderr.contains("uncommitted changes (value.txt); nothing was adopted"), "\(result.stderr)")
        #expect(try second.gitLine("rev-parse", "autoresearch/s") == before)
        #expect(second.read("value.txt") == "321\n")
        // Trusted and committed: the binary adopts without measuring.
        try second.git(["checkout", "-q", "--", "value.txt"])
        let adopted = try Tool.run(["adopt", "origin", "--trust-remote-best"], in: second)
        #expect(adopted.status == 0, "\(adopted.stderr)")
        #expect(adopted.stdout.contains("adopted the best from origin: run"), "\(adopted.stdout)")
        #expect(!adopted.stdout.contains("recheck"))
        #expect(second.read("value.txt") == "100\n")
        try second.fsck()
        try remote.bare.fsck()
    }
}
