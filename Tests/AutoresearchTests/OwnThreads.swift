import Foundation
import Testing

// Most tests here wait: for a child process, a timeout, a lock held by another process. A
// synchronous test body runs on Swift's cooperative pool, which has one thread per core, so on a
// 2-core machine two waiting tests block every other test. `.ownThreads` runs a suite's test
// bodies on threads of their own instead, at most `OwnThreadsTrait.slots` at once (without a
// bound every test of the run starts at once, and their time limits fail on 2 cores).
// AUTORESEARCH_TESTS_OWN_THREADS=0 runs them on the pool, as plain Swift Testing does.

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

/// At most `count` holders at once; the others wait their turn, in order, without blocking a thread.
actor Slots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}

/// Runs each test of a suite with `ThreadPerJobExecutor` as its preferred executor, holding one
/// of `slots`.
struct OwnThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    /// Test cases running at once: they mostly wait for child processes, so more than the cores.
    static let slots = Slots(max(4, 3 * ProcessInfo.processInfo.activeProcessorCount))
    static let enabled = ProcessInfo.processInfo.environment["AUTORESEARCH_TESTS_OWN_THREADS"] != "0"

    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        // A suite's scope holds no slot: its tests do.
        guard Self.enabled, testCase != nil else { return try await function() }
        await Self.slots.acquire()
        defer { Task { await Self.slots.release() } }
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreadsTrait {
    /// The suite's test bodies run on threads of their own, a few at a time, not on the
    /// cooperative pool (unless AUTORESEARCH_TESTS_OWN_THREADS=0).
    static var ownThreads: Self { OwnThreadsTrait() }
}
