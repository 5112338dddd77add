@testable import Autoresearch
import Foundation
import Git
import Testing
import Fixtures

@Suite(.ownThreads) struct TimestampTests {
    @Test func theToolsFormatReadsAndWritesAsTheFormatterDoes() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for seconds in [0, 1_795_956_710.211, 951_782_400.5, 4_107_542_399.999, -86_400.25, 1_234_567_890.0004] {
            let date = Date(timeIntervalSince1970: seconds)
            let text = RunRecord.timestamp(date)
            #expect(text == formatter.string(from: date))
            #expect(RunRecord.parseTimestamp(text) == formatter.date(from: text))
            #expect(RunRecord.timestamp(RunRecord.parseTimestamp(text)!) == text)
        }
    }

    @Test func otherFormsGoThroughTheFormatter() {
        #expect(RunRecord.parseTimestamp("2026-11-23T12:51:50Z") == Date(timeIntervalSince1970: 1_795_438_310))
        #expect(RunRecord.parseTimestamp("2026-11-23T13:51:50+01:00") == Date(timeIntervalSince1970: 1_795_438_310))
        #expect(RunRecord.parseTimestamp("2026-11-23T12:51:50.2Z") == Date(timeIntervalSince1970: 1_795_438_310.2))
        for invalid in ["", "2026-13-01T00:00:00.000Z", "2026-11-23 12:51:50.211Z", "yesterday"] {
            #expect(RunRecord.parseTimestamp(invalid) == nil, "\(invalid)")
        }
    }
}

@Suite(.ownThreads) struct LedgerIndexTests {
    /// A repository with `count` commits, each with one record of experiment `demo` (every third
    /// with a second record of `other`), appended in order.
    func ledger(_ count: Int) throws -> (TempRepository, Repository, Ledger, [OID]) {
        let repo = try TempRepository()
        var commits: [OID] = []
        for index in 0..<count {
            commits.append(OID(hex: try repo.commitFiles(["file.txt": "\(index)\n"], message: "c\(index)"))!)
        }
        let repository = try Repository(path: repo.path)
        let ledger = Ledger(repository: repository)
        for (index, commit) in commits.enumerated() {
            try ledger.append(record(index, experiment: "demo"), on: commit)
            if index % 3 == 0 { try ledger.append(record(index, experiment: "other"), on: commit) }
        }
        return (repo, repository, ledger, commits)
    }

    func record(_ index: Int, experiment: String, host: String = "here") -> RunRecord {
        RunRecord(experiment: experiment, run: String(format: "20260101-000000-%06d", index), status: index % 2 == 0 ? .keep : .discard,
                  metric: "score", value: Double(index), bestBefore: index == 0 ? nil : 1, direction: .lower, duration: 1,
                  start: Date(timeIntervalSince1970: 1_795_438_310 + Double(index) / 7), exitCode: 0, reason: nil,
                  description: "run \(index)\ttab \"quoted\" back\\slash", host: host)
    }

    /// Every record as the git CLI reads the notes: commit and line, oldest first (start, run).
    func recordsByGit(_ repo: TempRepository) throws -> [String] {
        var records: [(RunRecord, String)] = []
        for pair in try repo.git(["notes", "--ref=autoresearch", "list"]).split(separator: "\n") {
            let ids = pair.split(separator: " ").map(String.init)
            for line in try repo.git(["cat-file", "blob", ids[0]]).split(separator: "\n") {
                if let record = RunRecord(line: String(line)) { records.append((record, ids[1] + " " + line)) }
            }
        }
        return records.sorted { ($0.0.start, $0.0.run) < ($1.0.start, $1.0.run) }.map(\.1)
    }

    func recordsByIndex(_ ledger: Ledger) throws -> [String] {
        try ledger.allRuns().map { $0.commit.hex + " " + $0.record.line }
    }

    func cachedSummary(_ repository: Repository) -> LedgerSummary? {
        LedgerSummary.read(LocalState.ledgerSummaryPath(repository))
    }

    func cachedNotesCommit(_ repository: Repository) -> String? { cachedSummary(repository)?.notesCommit }

    @Test func readsWhatTheNotesHoldAfterNewRecordsAPullADeletedNoteAndAnyDamage() throws {
        let (repo, repository, ledger, commits) = try ledger(30)
        #expect(try recordsByIndex(ledger) == recordsByGit(repo))
        #expect(cachedNotesCommit(repository) == (try repo.gitLine("rev-parse", "refs/notes/autoresearch")))

        // New records, on new and on annotated commits: the index is updated, not rebuilt.
        try ledger.append(record(100, experiment: "demo"), on: commits[4])
        try ledger.append(record(101, experiment: "demo"), on: commits[29])
        #expect(try recordsByIndex(ledger) == recordsByGit(repo))

        // Another machine's records (written by the tool there, in its fanout) merged, as pull does.
        try repo.git(["update-ref", "refs/notes/theirs", "refs/notes/autoresearch~3"])
        for (offset, commit) in [commits[1], commits[7], commits[20]].enumerated() {
            _ = try repository.appendNote(ref: "refs/notes/theirs", on: commit, text: record(200 + offset, experiment: "demo", host: "there").line)
        }
        let theirs = OID(hex: try repo.gitLine("rev-parse", "refs/notes/theirs"))!
        _ = try repository.mergeNotes(ref: Refs.notes, theirs: theirs, message: "merge")
        #expect(try recordsByIndex(ledger) == recordsByGit(repo))

        // A note removed with git.
        try repo.git(["notes", "--ref=autoresearch", "remove", commits[2].hex])
        #expect(try recordsByIndex(ledger) == recordsByGit(repo))

        // The cache deleted, truncated, or changed inside a record: rebuilt silently.
        let path = LocalState.ledgerIndexPath(repository)
        try FileManager.default.removeItem(atPath: path)
        #expect(try recordsByIndex(ledger) == recordsByGit(repo))
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: path))
        #expect(try recordsByIndex(ledger) == recordsByGit(repo))
        bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count / 2] = bytes[bytes.count / 2] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try recordsByIndex(ledger) == recordsByGit(repo))
        #expect(cachedSummary(repository) != nil)
    }

    @Test func aCacheOfAnotherNotesHistoryIsRebuilt() throws {
        let (repo, repository, ledger, _) = try ledger(6)
        _ = try ledger.allRuns()
        let (otherRepo, otherRepository, otherLedger, _) = try self.ledger(4)
        _ = try otherLedger.allRuns()
        // The cache names a notes commit this repository does not have.
        try FileManager.default.copyItem(atPath: LocalState.ledgerIndexPath(otherRepository), toPath: LocalState.ledgerIndexPath(repository) + ".other")
        try FileManager.default.removeItem(atPath: LocalState.ledgerIndexPath(repository))
        try FileManager.default.moveItem(atPath: LocalState.ledgerIndexPath(repository) + ".other", toPath: LocalState.ledgerIndexPath(repository))
        #expect(try recordsByIndex(ledger) == recordsByGit(repo))
        #expect(try recordsByIndex(otherLedger) == recordsByGit(otherRepo))
    }

    @Test func theLatestRunsAreTheNewestOfTheExperimentOnly() throws {
        let (repo, _, _, _) = try ledger(12)
        let workspace = try Workspace(discoveringFrom: repo.path)
        let all = try workspace.runs(experiment: "demo")
        #expect(all.count == 12)
        #expect(try workspace.runs(experiment: "demo", latest: 5).map(\.record) == all.suffix(5).map(\.record))
        #expect(try workspace.runs(experiment: "demo", status: StatusFilter([.keep]), latest: 2).map(\.record.run)
                == all.filter { $0.record.status == .keep }.suffix(2).map(\.record.run))
        #expect(try workspace.runs(experiment: "other", latest: 100).count == 4)
        #expect(try workspace.runs(experiment: "demo", latest: 0).isEmpty)
    }
}
