import Autoresearch
import Foundation
import Testing
import Fixtures

/// `prune`: records removed in one notes commit, tombstones that outlive a pull, the best's and
/// the baseline's records kept.
@Suite(.ownThreads) struct PruneTests {
    /// A repository with a baseline (500), two no-metric runs, a keep (100) and a discard (300).
    static func prunableRepository() throws -> (repo: TempRepository, failed: [String], discard: String) {
        let repo = try parallelRepository()
        try repo.runIteration()
        let failed = try ["abc\n", "xyz\n"].map { try repo.runCandidate($0, file: "value.txt") }
        #expect(failed.map(\.status) == [.noMetric, .noMetric])
        #expect(try repo.runCandidate("100\n", file: "value.txt").status == .keep)
        let discard = try repo.runCandidate("300\n", file: "value.txt")
        #expect(discard.status == .discard)
        return (repo, failed.map(\.outcome.record.run), discard.outcome.record.run)
    }

    static func runIDs(in repo: TempRepository) throws -> [String] {
        AutoresearchTests.runIDs(try ledgerLines(inRepositoryAt: repo.path))
    }

    @Test func aDryRunListsAndThenPruneRemovesLeavingTombstones() throws {
        let (repo, failed, _) = try Self.prunableRepository()
        let notesBefore = try repo.gitLine("rev-parse", "refs/notes/autoresearch")
        let dry = try Tool.run(["prune", "--status", "no-metric", "--dry-run"], in: repo)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(failed.allSatisfy { dry.stdout.contains("would remove \($0) no-metric") }, "\(dry.stdout)")
        #expect(try repo.gitLine("rev-parse", "refs/notes/autoresearch") == notesBefore)
        #expect(try Tool.run(["log"], in: repo).stdout.contains(failed[0]))  // fills the ledger index

        let pruned = try Tool.run(["prune", "--status", "no-metric"], in: repo)
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("removed 2 records"), "\(pruned.stdout)")
        #expect(try repo.gitLine("rev-list", "--count", "\(notesBefore)..refs/notes/autoresearch") == "1")
        let remaining = try Self.runIDs(in: repo)
        #expect(remaining.count == 3 && failed.allSatisfy { !remaining.contains($0) })
        let notes = try repo.git(["log", "--notes=autoresearch", "--format=%N", "autoresearch/s", "refs/autoresearch/s/attempts"])
        #expect(failed.allSatisfy { run in notes.contains("pruned=\(run) experiment=s at=") }, "\(notes)")
        #expect(!notes.contains("log=001 run=\(failed[0])"))
        // Readers (through the ledger index) no longer see them.
        let log = try Tool.run(["log"], in: repo).stdout
        #expect(failed.allSatisfy { !log.contains($0) }, "\(log)")
        #expect(try repo.workspace().status(experiment: "s").runs == 3)
        try repo.fsck()
    }

    @Test func theBestsAndTheBaselinesRecordsAreKept() throws {
        let (repo, _, discard) = try Self.prunableRepository()
        let status = try repo.workspace().status(experiment: "s")
        let best = try #require(status.best?.record.run), baseline = try #require(status.baseline?.run)
        let notesBefore = try repo.gitLine("rev-parse", "refs/notes/autoresearch")
        for run in [best, baseline] {
            let refused = try Tool.run(["prune", run], in: repo)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("run \(run) is the \(run == best ? "best" : "baseline") record of experiment 's'; nothing was pruned"),
                    "\(refused.stderr)")
        }
        #expect(try Tool.run(["prune"], in: repo).stderr.contains("say which records to remove"))
        #expect(try repo.gitLine("rev-parse", "refs/notes/autoresearch") == notesBefore)
        let result = try repo.workspace().prune({ var selection = PruneSelection(); selection.statuses = [.keep, .discard]; return selection }(),
                                               dryRun: false)
        #expect(result.removed.map(\.record.run) == [discard])
        #expect(Set(result.kept.map(\.entry.record.run)) == [best, baseline])
        #expect(try repo.workspace().status(experiment: "s").best?.record.run == best)
        try repo.fsck()
    }

    /// `kill -9` at random moments of a prune: the ledger is as it was or fully pruned, never
    /// in between; `git fsck` is clean; the other records are all there.
    @Test func killingAPruneLeavesTheLedgerWholeOrPruned() throws {
        let (repo, _, _) = try Self.prunableRepository()
        let others = try Self.runIDs(in: repo).filter { run in try repo.recordLine(ofRun: run).contains("status=no-metric") == false }
        for cycle in 0..<6 {
            let failed = try repo.runCandidate("bad\(cycle)\n", file: "value.txt").outcome.record.run
            let prune = try Tool.start(["prune", "--status", "no-metric"], in: repo)
            usleep(UInt32.random(in: 0...40_000))
            kill(prune.pid, SIGKILL)
            _ = prune.wait()
            try repo.fsck()
            let runs = try Self.runIDs(in: repo)
            #expect(others.allSatisfy(runs.contains), "cycle \(cycle): \(runs)")
            let notes = try repo.git(["log", "--notes=autoresearch", "--format=%N", "refs/autoresearch/s/attempts"])
            // The run's record or its tombstone, never neither nor both.
            #expect(runs.contains(failed) != notes.contains("pruned=\(failed) "), "cycle \(cycle): \(notes)")
        }
        #expect(try Tool.run(["status"], in: repo).status == 0)
    }

    /// A bare remote and two machines sharing it: the first pruned its two no-metric runs, the
    /// second, which still has them, recorded a run of its own and pushed (the notes diverged).
    static func divergedAfterPrune() throws -> (remote: TestRemote, first: TempRepository, second: TempRepository, failed: [String]) {
        let remote = try TestRemote(.bareRepositoryPath)
        let (first, failed, _) = try Self.prunableRepository()
        try first.git(["remote", "add", "origin", remote.bare.path])
        try first.push()
        let second = try SharingTests.clone(remote.bare.path)
        try second.pull()
        #expect(try Self.runIDs(in: second).count == 5)
        #expect(try Tool.run(["prune", "--status", "no-metric", "--before", "1.minute.ago"], in: first).stdout.contains("removed 0 records"))
        #expect(try Tool.run(["prune", "--status", "no-metric", "--before", "2099-01-01"], in: first).stdout.contains("removed 2 records"))
        #expect(try second.runCandidate("400\n", file: "value.txt").status == .discard)
        try second.push()
        return (remote, first, second, failed)
    }

    @Test func aPullDoesNotBringPrunedRecordsBack() throws {
        let (remote, first, second, failed) = try Self.divergedAfterPrune()
        let pulled = try Tool.run(["pull"], in: first)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.stdout.contains("pruned again: 2 records"), "\(pulled.stdout)")
        var runs = try Self.runIDs(in: first)
        #expect(runs.count == 4 && failed.allSatisfy { !runs.contains($0) }, "\(runs)")
        // Pushed, the remote and then the second machine lose them too.
        try first.push()
        try second.pull()
        runs = try Self.runIDs(in: second)
        #expect(runs.count == 4 && failed.allSatisfy { !runs.contains($0) }, "\(runs)")
        #expect(!(try Tool.run(["log"], in: second).stdout.contains(failed[0])))
        try first.fsck()
        try second.fsck()
        try remote.bare.fsck()
    }

    @Test func pullWithResurrectBringsThemBack() throws {
        let (remote, first, _, failed) = try Self.divergedAfterPrune()
        let pulled = try Tool.run(["pull", "--resurrect"], in: first)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.stdout.contains("resurrected: "), "\(pulled.stdout)")
        let runs = try Self.runIDs(in: first)
        #expect(runs.count == 6 && failed.allSatisfy { runs.contains($0) }, "\(runs)")
        let notes = try first.git(["log", "--notes=autoresearch", "--format=%N", "autoresearch/s", "refs/autoresearch/s/attempts"])
        #expect(!notes.contains("pruned="), "\(notes)")
        try first.fsck()
        try remote.bare.fsck()
    }
}
