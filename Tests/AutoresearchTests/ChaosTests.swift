import Fixtures
import Testing

/// The short version of `make chaos`: tens of `kill -9` at random moments, each followed by the
/// checks a user would make. The long run's figures are in docs/reliability.md.
@Suite(.ownThreads) struct ChaosTests {
    @Test func killingLoopsAtRandomLeavesNothingBehind() throws {
        let report = try Chaos().killLoops(cycles: 12)
        #expect(report.failures == 0, "\(report.tableRow)\n\(report.examples.joined(separator: "\n"))")
    }

    @Test func killingParallelLoopsAtRandomLeavesNothingBehind() throws {
        let report = try Chaos().killLoops(cycles: 4, jobs: 3, maxDelay: 3)
        #expect(report.failures == 0, "\(report.tableRow)\n\(report.examples.joined(separator: "\n"))")
    }

    @Test(arguments: [false, true])
    func killingPushesAtRandomLosesNoRecord(throughDaemon: Bool) throws {
        let report = try Chaos().killPushes(cycles: 6, throughDaemon: throughDaemon)
        #expect(report.failures == 0, "\(report.tableRow)\n\(report.examples.joined(separator: "\n"))")
    }
}
