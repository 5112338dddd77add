@testable import Autoresearch
import Foundation
import Git
import Testing
import Fixtures

/// The ledger index as a cache: appended to, rewritten or rebuilt as the notes move, whatever
/// happened to its files, and always what the notes say (read with the git CLI).
@Suite(.ownThreads) struct LedgerIndexCacheTests {
    let base = LedgerIndexTests()

    /// A run record whose run id matches its start (so `RecordTrust` trusts it).
    func trusted(_ index: Int, status: RunStatus, bestBefore: Double?, run: String? = nil, seconds: Double? = nil) -> RunRecord {
        let start = Date(timeIntervalSince1970: 1_795_438_310 + (seconds ?? Double(index)))
        return RunRecord(experiment: "demo", run: run ?? RunID.make(at: start), status: status, metric: "score", value: Double(100 - index),
                         bestBefore: bestBefore, direction: .lower, duration: 1, start: start, exitCode: 0, reason: nil,
                         description: "run \(index)", host: "here")
    }

    @Test func recordsAfterTheNewestAreAppendedAndOlderOnesRewriteTheEntries() throws {
        let (repo, repository, ledger, commits) = try base.ledger(20)
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        let generation = try #require(base.cachedSummary(repository)).generation
        let size = try FileManager.default.attributesOfItem(atPath: LocalState.ledgerIndexPath(repository))[.size] as! Int

        // A run's record on a new note and a recheck's on an annotated commit: appended in place.
        try ledger.append(base.record(50, experiment: "demo"), on: commits[3])
        try ledger.append(base.record(51, experiment: "other"), on: OID(hex: try repo.commitFiles(["new.txt": "x"]))!)
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        let appended = try #require(base.cachedSummary(repository))
        #expect(appended.generation == generation)
        #expect(appended.count == 20 + 7 + 2)
        #expect(try FileManager.default.attributesOfItem(atPath: LocalState.ledgerIndexPath(repository))[.size] as! Int > size)

        // A record older than the newest (as pulled from a machine that ran earlier): rewritten.
        try ledger.append(base.record(-3, experiment: "demo", host: "there"), on: commits[10])
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        #expect(base.cachedSummary(repository)?.generation != generation)
    }

    @Test func aRewrittenNotesRefNotDescendingFromTheCachedOneIsFollowed() throws {
        let (repo, repository, ledger, commits) = try base.ledger(12)
        let early = try repo.gitLine("rev-parse", "refs/notes/autoresearch~6")
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        // The ref set back and grown on another line: the cached notes commit is not an ancestor.
        try repo.git(["update-ref", "refs/notes/autoresearch", early])
        try ledger.append(base.record(70, experiment: "demo"), on: commits[11])
        try ledger.append(base.record(71, experiment: "other"), on: commits[0])
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        #expect(try repo.gitLine("merge-base", "--is-ancestor", early, "refs/notes/autoresearch").isEmpty)
        // And a notes history this repository has never seen (the ref deleted, then new notes).
        try repo.git(["update-ref", "-d", "refs/notes/autoresearch"])
        #expect(try base.recordsByIndex(ledger).isEmpty)
        try ledger.append(base.record(72, experiment: "demo"), on: commits[5])
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        #expect(base.cachedNotesCommit(repository) == (try repo.gitLine("rev-parse", "refs/notes/autoresearch")))
    }

    @Test func aTornAppendAForeignVersionAndAMismatchedSummaryAreRebuiltOrIgnored() throws {
        let (repo, repository, ledger, commits) = try base.ledger(10)
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        let entries = LocalState.ledgerIndexPath(repository), summary = LocalState.ledgerSummaryPath(repository)

        // What a kill -9 in the middle of an append leaves: bytes past the summary's length.
        let handle = try #require(FileHandle(forWritingAtPath: entries))
        handle.seekToEndOfFile()
        handle.write(Data([7, 0, 0, 0, 1, 2, 3]))
        try handle.close()
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        try ledger.append(base.record(80, experiment: "demo"), on: commits[2])
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        #expect(try Workspace(discoveringFrom: repo.path).runs(experiment: "demo", latest: 2).map(\.record.run)
                == base.recordsByGit(repo).filter { $0.contains("experiment=demo") }.suffix(2).map { RunRecord(line: String($0.dropFirst(41)))!.run })

        // The previous format (text), a summary of another version, a summary of other entries.
        try "autoresearch-ledger-index 1 -\nend 0 cbf29ce484222325\n".write(toFile: entries, atomically: true, encoding: .utf8)
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        var text = try String(contentsOfFile: summary, encoding: .utf8)
        var foreign = try #require(base.cachedSummary(repository))
        foreign.version = LedgerSummary.version + 1
        try foreign.write(to: summary)
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        foreign = try #require(base.cachedSummary(repository))
        foreign.generation &+= 1
        try foreign.write(to: summary)
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        text = try String(contentsOfFile: summary, encoding: .utf8)
        try text.replacingOccurrences(of: "\"total\":", with: "\"total\":1").write(toFile: summary, atomically: true, encoding: .utf8)
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        #expect(try LedgerIndex.current(repository).summaries["demo"]?.total == 10 + 1)
        // The fields each entry keeps and the seconds by status too.
        try LedgerIndexFieldsTests().expectFieldsMatch(repo, repository)
    }

    @Test func theSummaryCountsWhatTheNotesHold() throws {
        let (repo, repository, ledger, commits) = try base.ledger(15)
        try ledger.append(base.record(90, experiment: "demo"), on: commits[1])
        var smoky = base.record(91, experiment: "other")
        smoky.smokeValue = 3
        smoky.stage = "smoke"
        smoky.status = .discard
        smoky.value = nil
        try ledger.append(smoky, on: commits[7])
        let records = try base.recordsByGit(repo).map { line in RunRecord(line: String(line.split(separator: " ", maxSplits: 1)[1]))! }
        let index = try LedgerIndex.current(repository)
        for experiment in ["demo", "other"] {
            let mine = records.filter { $0.experiment == experiment }
            let summary = try #require(index.summaries[experiment])
            #expect(summary.total == mine.count)
            #expect(summary.counts == Dictionary(grouping: mine, by: \.status).mapValues(\.count))
            #expect(try index.lastRun(experiment: experiment)?.record == mine.last)
            #expect(try index.latestPassingRun(experiment: experiment)?.record == mine.last(where: \.passed))
            #expect(index.ranSmokeStage(experiment: experiment) == mine.contains { $0.smokeValue != nil })
            #expect(Set(summary.baselineCommits) == Set(try base.recordsByGit(repo).filter { line in
                RunRecord(line: String(line.split(separator: " ", maxSplits: 1)[1]))!.isBaseline && line.contains("experiment=\(experiment) ")
            }.map { String($0.prefix(40)) }))
        }
    }

    @Test func theBestAndBaselineThroughTheIndexAreTheNotesAndItsMemoFollowsNewBaselines() throws {
        let repo = try TempRepository()
        var commits: [OID] = []
        for index in 0..<10 { commits.append(OID(hex: try repo.commitFiles(["file.txt": "\(index)\n"], message: "c\(index)"))!) }
        let repository = try Repository(path: repo.path)
        let ledger = Ledger(repository: repository)
        var runs: [String] = []
        for (index, commit) in commits.enumerated() {
            let record = trusted(index, status: .keep, bestBefore: index == 0 ? nil : Double(101 - index))
            runs.append(record.run)
            try ledger.append(record, on: commit)
        }
        func throughIndex(from tip: OID) throws -> (best: String, baseline: String?)? {
            try ledger.withIndex { try ledger.reading(through: $0).bestAndBaseline(experiment: "demo", from: tip) }
                .map { ($0.best.record.run, $0.baseline?.run) }
        }
        func fromNotes(from tip: OID) throws -> (best: String, baseline: String?)? {
            try ledger.bestAndBaseline(experiment: "demo", from: tip).map { ($0.best.record.run, $0.baseline?.run) }
        }
        #expect(try throughIndex(from: commits[9])! == fromNotes(from: commits[9])!)
        #expect(try throughIndex(from: commits[9])?.baseline == runs[0])
        #expect(base.cachedSummary(repository)?.experiments["demo"]?.baselineMemo == BaselineMemo(commit: commits[9].hex, baseline: commits[0].hex))
        #expect(try throughIndex(from: commits[9])! == fromNotes(from: commits[9])!)

        // The experiment measured again from commit 3 (its run's record, as a baseline): the memo is forgotten.
        try ledger.append(trusted(3, status: .keep, bestBefore: nil, run: runs[3], seconds: 3.5 + 100), on: commits[3])
        #expect(try throughIndex(from: commits[9])?.baseline == runs[3])
        #expect(try throughIndex(from: commits[9])! == fromNotes(from: commits[9])!)
        #expect(try throughIndex(from: commits[2])! == fromNotes(from: commits[2])!)
        #expect(try throughIndex(from: commits[2])?.baseline == runs[0])
    }

    @Test func killedWhileWritingTheCacheLeavesOneThatIsRebuiltOrRight() throws {
        let (repo, repository, ledger, commits) = try base.ledger(150)
        let initialized = try Tool.run(["init", "--name", "demo", "--eval", "true", "--metric", "score"], in: repo)
        #expect(initialized.status == 0, "\(initialized.stderr)")
        let tool = Tool.path
        for trial in 0..<20 {
            // A stale cache (a new record on an old note) or none at all, then a reader killed part way.
            if trial % 2 == 0 {
                try? FileManager.default.removeItem(atPath: LocalState.ledgerIndexPath(repository))
            } else {
                try ledger.append(base.record(1000 + trial, experiment: "demo"), on: commits[trial])
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = ["log", "--experiment", "demo", "--format", "tsv"]
            process.currentDirectoryURL = URL(fileURLWithPath: repo.path)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(10_000 + trial * 5_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        #expect(try base.recordsByIndex(ledger) == base.recordsByGit(repo))
        try LedgerIndexFieldsTests().expectFieldsMatch(repo, repository)
        let logged = try Tool.run(["log", "--experiment", "demo", "--format", "tsv"], in: repo)
        let demoRecords = try base.recordsByGit(repo).filter { $0.contains("experiment=demo ") }
        #expect(logged.stdout.split(separator: "\n").count - 1 == demoRecords.count, "\(logged.stderr)")
    }
}
