@testable import Autoresearch
import Foundation
import Git
import Testing
import Fixtures

/// The experiment's lock: busy only while another live process holds it, whatever only looks
/// like a holder for a moment (a status check's shared lock, a starting child's copy).
@Suite(.ownThreads) struct ExperimentLockTests {
    /// A `status` reading the holder takes a shared lock for a moment; a run starting then waits for
    /// it instead of failing with "process 0 holds its lock" (seen once in CI).
    @Test func aCheckOfTheHolderDoesNotMakeTheExperimentBusy() throws {
        let repo = try TempRepository()
        let state = LocalState(repository: try Repository(path: repo.path), experiment: "s")
        try state.prepare()
        let probe = open(state.lockPath, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
        #expect(probe >= 0 && flock(probe, LOCK_SH) == 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { close(probe) }
        let started = Date()
        let lock = try state.lock(experiment: "s")
        #expect(Date().timeIntervalSince(started) >= 0.2, "it waited for the shared lock to go")
        #expect(state.lockHolder() == getpid())
        lock.release()
        #expect(state.lockHolder() == nil)
    }

    /// A copy of the lock's descriptor (what a child another thread is starting holds until its
    /// exec) does not keep the lock once it is released: the run that released it is not named
    /// as the holder (this test's last check above failed once in CI for that reason).
    @Test func aReleasedLockIsFreeWhileACopyOfItsDescriptorLives() throws {
        let repo = try TempRepository()
        let state = LocalState(repository: try Repository(path: repo.path), experiment: "s")
        let lock = try state.lock(experiment: "s")
        let copy = dup(lock.descriptor)
        defer { close(copy) }
        #expect(copy >= 0 && state.lockHolder() == getpid())
        lock.release()
        #expect(state.lockHolder() == nil)
    }

    /// Another process that holds the lock and wrote its pid makes `run` fail at once, naming it.
    @Test func anotherLiveHolderMakesARunFailAtOnceNamingIt() throws {
        let repo = try scenarioRepository()
        let lockPath = repo.path + "/.git/autoresearch/s/lock"
        try FileManager.default.createDirectory(atPath: repo.path + "/.git/autoresearch/s", withIntermediateDirectories: true)
        // The shell locks the file, writes its pid, then becomes `sleep` (same pid, the lock kept).
        let holder = try ChildProcess("/bin/sh", ["-c", "exec 9>>\"$0\"; flock 9; echo $$ > \"$0\"; exec sleep 30", lockPath], in: repo.path)
        defer { kill(holder.pid, SIGKILL); _ = holder.wait() }
        var waited = 0
        while FileLock.holder(of: lockPath) != holder.pid, waited < 500 { usleep(10_000); waited += 1 }
        #expect(FileLock.holder(of: lockPath) == holder.pid)

        let started = Date()
        let run = try Tool.run(["run"], in: repo)
        #expect(run.status == 1)
        #expect(run.stderr.contains("experiment 's' is busy: process \(holder.pid) holds its lock"), "\(run.stderr)")
        #expect(run.stderr.contains("kill \(holder.pid)"))
        #expect(Date().timeIntervalSince(started) < 5, "no wait for a live holder")
        #expect(try repo.ledgerLines().isEmpty, "nothing recorded")
    }
}
