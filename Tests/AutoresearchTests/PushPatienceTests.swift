@testable import Autoresearch
@testable import Git
import Fixtures
import Foundation
import Testing

/// A push waits longer (`Workspace.maxPushAttemptsLosingRaces`) only while it loses races to
/// other machines' pushes, which are getting in: not when a lock or an error stands in the way.
struct PushPatienceTests {
    @Test func onlyARaceLostToAnotherPushIsWaitedOutLonger() {
        #expect(PushProblem.failed(GitError(.nonFastForward, operation: "push to origin", message: "not present locally")).isLostRace)
        #expect(PushProblem.rejected([("refs/notes/autoresearch", Workspace.changedMeanwhile)]).isLostRace)
        #expect(PushProblem.rejected([("refs/heads/autoresearch/a", "non-fast-forward")]).isLostRace)
        #expect(!PushProblem.rejected([("refs/notes/autoresearch", "\(Workspace.lockedReason) by r/refs/notes/autoresearch.lock, 2s old")]).isLostRace)
        #expect(!PushProblem.rejected([("refs/notes/a", Workspace.changedMeanwhile), ("refs/notes/b", "failed to update ref")]).isLostRace)
        #expect(!PushProblem.failed(GitError(.auth, operation: "push to origin", message: "refused")).isLostRace)
        #expect(!PushProblem.rejected([]).isLostRace)
    }
}

@Suite(.ownThreads) struct OutgoingSnapshotTests {
    /// A push killed while it wrote or removed its snapshot of a branch leaves the ref and its
    /// lock file (`kill -9` in `ChaosTests` found it): the next push removes both, however young
    /// the lock, instead of failing on it for the 30 s a lock takes to count as stale.
    @Test func aKilledPushsSnapshotAndItsLockFileAreRemovedByTheNextPush() throws {
        let remote = try TestRemote(.bareRepositoryPath)
        let repo = try scenarioRepository()
        try repo.git(["remote", "add", "origin", remote.url])
        _ = try repo.workspace().runOnce(experiment: "s")
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let directory = "refs/autoresearch-outgoing/\(gone.processIdentifier)-abc123/heads/autoresearch"
        try repo.git(["update-ref", directory + "/s", "HEAD"])
        let lock = repo.path + "/.git/" + directory + "/s.lock"
        let unborn = repo.path + "/.git/" + directory + "/other.lock"  // killed before its ref existed
        for path in [lock, unborn] { FileManager.default.createFile(atPath: path, contents: Data()) }
        let events = RecordedEvents()
        try repo.workspace().push(remote: "origin", notice: events.events.notice)
        #expect(!FileManager.default.fileExists(atPath: lock) && !FileManager.default.fileExists(atPath: unborn))
        #expect(try repo.git(["for-each-ref", "refs/autoresearch-outgoing/"]).isEmpty)
        #expect(events.notices.contains { $0.contains("removed refs/autoresearch-outgoing/") }, "\(events.notices)")
        #expect(try remote.bare.git(["rev-parse", "autoresearch/s"]).trimmingCharacters(in: .whitespacesAndNewlines)
                == (try repo.gitLine("rev-parse", "autoresearch/s")))
    }
}
