import Foundation
import Testing

// Most tests here wait: for a child process, a timeout, a lock held by another process. A
// synchronous test body runs on Swift's cooperative pool, which has one thread per core, so on a
// 2-core machine two waiting tests block every other test. With AUTORESEARCH_TESTS_OWN_THREADS=1,
// `.ownThreads` runs a suite's bodies on threads of their own instead, so waiting tests overlap:
// the suite then takes about 100 s instead of 165 s here, but some tests that bound a machine's
// speed, and a few that kill processes, fail that way (docs/performance.md, "make test's wall
// time"), so it is not the default yet.

/// A task executor that runs every job on a new thread: blocking in a job holds that thread only.
final class ThreadPerJobExecutor: TaskExecutor {
    static let shared = ThreadPerJobExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread { job.runSynchronously(on: executor) }
        // Room for the domain's deepest stacks (libgit2 callbacks, recursive tree walks).
        thread.stackSize = 4 << 20
        thread.start()
    }
}

/// Runs each test of a suite with `ThreadPerJobExecutor` as its preferred executor.
struct OwnThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        guard ProcessInfo.processInfo.environment["AUTORESEARCH_TESTS_OWN_THREADS"] == "1" else {
            return try await function()
        }
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreadsTrait {
    /// With AUTORESEARCH_TESTS_OWN_THREADS=1, the suite's test bodies run on their own threads,
    /// not on the cooperative pool.
    static var ownThreads: Self { OwnThreadsTrait() }
}
