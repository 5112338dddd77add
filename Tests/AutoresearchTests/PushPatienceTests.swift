@testable import Autoresearch
@testable import Git
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
