@testable import Autoresearch
import Foundation
import Git
import Testing
import Fixtures

/// What the ledger index keeps of each record besides its line (value, best before, duration,
/// host, worker, description, evaluator; seconds by status in the summary) is what the record
/// says, as the git CLI reads the notes; `log` printed from those fields is what the records give,
/// byte for byte; a run is found by its id from either end or its commit.
@Suite(.ownThreads) struct LedgerIndexFieldsTests {
    let base = LedgerIndexTests()

    /// Records with every field the index keeps present or absent, and texts that need quoting.
    func varied(_ index: Int) -> RunRecord {
        var record = base.record(index, experiment: "demo", host: index % 4 == 0 ? "far\u{301} host" : "here")
        if index % 3 == 0 { (record.value, record.status, record.reason) = (nil, .crash, "exit 1\nsee log") }
        if index % 5 == 0 { record.bestBefore = nil }
        if index % 2 == 1 { record.worker = index }
        if index % 4 == 1 { record.evaluator = "abc\(index)" }
        if index % 3 == 1 { record.metrics = [("peak", Double(index) * 1.5)] }
        record.duration = Double(index) / 8
        return record
    }

    /// Every record as the git CLI reads the notes, with its commit, in ledger order.
    func recordsByGit(_ repo: TempRepository) throws -> [(commit: String, record: RunRecord)] {
        try base.recordsByGit(repo).map { line in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            return (parts[0], RunRecord(line: parts[1])!)
        }
    }

    func expectFieldsMatch(_ repo: TempRepository, _ repository: Repository, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let index = try LedgerIndex.current(repository)
        let indexed = try index.all(), expected = try recordsByGit(repo)
        try #require(indexed.count == expected.count, sourceLocation: sourceLocation)
        for (entry, (commit, record)) in zip(indexed, expected) {
            let fields: [String?] = [entry.commit.hex, entry.run, entry.experiment, entry.status.rawValue, entry.value.map { Number.exact($0) },
                                     entry.bestBefore.map { Number.exact($0) }, entry.delta.map { Number.exact($0) }, Number.seconds(entry.duration),
                                     entry.host, entry.worker.map(String.init), entry.evaluator, entry.description,
                                     RunRecord.timestamp(entry.start), "\(entry.isBaseline) \(entry.passed)"]
            let truth: [String?] = [commit, record.run, record.experiment, record.status.rawValue, record.value.map { Number.exact($0) },
                                    record.bestBefore.map { Number.exact($0) }, record.delta.map { Number.exact($0) }, Number.seconds(record.duration),
                                    record.host, record.worker.map(String.init), record.evaluator, record.description,
                                    RunRecord.timestamp(record.start), "\(record.isBaseline) \(record.passed)"]
            #expect(fields == truth, sourceLocation: sourceLocation)
        }
        for (experiment, summary) in index.summaries {
            let mine = expected.map(\.record).filter { $0.experiment == experiment }
            #expect(summary.totalSeconds == mine.reduce(0) { $0 + $1.duration }, sourceLocation: sourceLocation)
            #expect(summary.seconds == Dictionary(grouping: mine, by: \.status).mapValues { $0.reduce(0) { $0 + $1.duration } },
                    sourceLocation: sourceLocation)
        }
    }

    @Test func theIndexedFieldsAreTheRecordsAsGitReadsThemAfterAppendsRewritesAndRebuilds() throws {
        let (repo, repository, ledger, commits) = try base.ledger(3)
        for index in 0..<24 { try ledger.append(varied(index + 10), on: commits[index % 3]) }
        try expectFieldsMatch(repo, repository)
        // Appended in place, then an older record (a rewrite), then the summary lost (a rebuild).
        try ledger.append(varied(60), on: commits[1])
        try expectFieldsMatch(repo, repository)
        var older = varied(61)
        older.start = Date(timeIntervalSince1970: 1_000_000_000)
        try ledger.append(older, on: commits[2])
        try expectFieldsMatch(repo, repository)
        try FileManager.default.removeItem(atPath: LocalState.ledgerSummaryPath(repository))
        try expectFieldsMatch(repo, repository)
    }

    @Test func logPrintedFromTheIndexIsWhatTheRecordsGive() throws {
        let (repo, _, ledger, commits) = try base.ledger(2)
        let initialized = try Tool.run(["init", "--name", "demo", "--eval", "true", "--metric", "score"], in: repo)
        #expect(initialized.status == 0, "\(initialized.stderr)")
        for index in 0..<16 { try ledger.append(varied(index + 10), on: commits[index % 2]) }
        let columns = ["run", "commit", "status", "value", "delta", "duration", "description", "host", "worker", "start", "evaluator",
                       "best_before", "experiment", "reason", "m.peak"]
        func cells(_ commit: String, _ record: RunRecord) -> [String] {
            [record.run, commit, record.isBaseline ? "baseline" : record.status.rawValue, record.value.map { Number.exact($0) } ?? "",
             record.delta.map { Number.exact($0) } ?? "", Number.seconds(record.duration), record.description, record.host,
             record.worker.map(String.init) ?? "", RunRecord.timestamp(record.start), record.evaluator ?? "",
             record.bestBefore.map { Number.exact($0) } ?? "", record.experiment, record.reason ?? "",
             record.metricValues["peak"].map { Number.exact($0) } ?? ""]
        }
        let demo = try recordsByGit(repo).filter { $0.record.experiment == "demo" }
        func expected(_ rows: [(commit: String, record: RunRecord)]) -> String {
            ([columns.map { $0 == "value" ? "score" : $0 }] + rows.map(cells)).map { $0.map { UntrustedText.backslashEscaped($0) }.joined(separator: "\t") }.joined(separator: "\n") + "\n"
        }
        let all = try Tool.run(["log", "--format", "tsv", "--columns", columns.joined(separator: ",")], in: repo)
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout == expected(demo))
        let filtered = try Tool.run(["log", "--format", "tsv", "--columns", columns.joined(separator: ","), "--where", "value < 20",
                                     "--where", "duration >= 1.5", "--host", "here", "--grep", "^run 1", "--status", "keep,discard,crash"], in: repo)
        #expect(filtered.stdout == expected(demo.filter {
            ($0.record.value ?? .infinity) < 20 && $0.record.duration >= 1.5 && $0.record.host == "here" && $0.record.description.hasPrefix("run 1")
        }))
        let workers = try Tool.run(["log", "--format", "tsv", "--columns", columns.joined(separator: ","), "--worker", "11", "--worker", "13", "-n", "1"], in: repo)
        #expect(workers.stdout == expected(Array(demo.filter { [11, 13].contains($0.record.worker) }.suffix(1))))
        let json = try Tool.run(["log", "--format", "json"], in: repo)
        #expect(jsonArray(json.stdout).map { $0["run"] as? String } == demo.map(\.record.run))
        #expect(jsonArray(json.stdout).map { $0["reason"] as? String } == demo.map(\.record.reason))
    }

    @Test func aRunIsFoundByItsIdFromEitherEndOrItsCommitAndAnAmbiguousNameListsTheCandidates() throws {
        let (repo, _, _, commits) = try base.ledger(12)
        let workspace = try Workspace(discoveringFrom: repo.path)
        let records = try recordsByGit(repo)
        let last = try #require(records.last)
        #expect(try workspace.run(named: last.record.run).record == last.record)
        #expect(try workspace.run(named: String(last.record.run.suffix(6))).record.run == last.record.run)
        #expect(try workspace.run(named: "0011", experiment: "demo").record.run == "20260101-000000-000011")
        let onCommit = try workspace.run(named: String(commits[4].hex.prefix(10)))
        #expect(onCommit.commit == commits[4] && onCommit.record.run == "20260101-000000-000004")
        let other = try workspace.run(named: "20260101-000000-000009", experiment: "other")
        #expect(other.record.experiment == "other" && other.commit == commits[9])
        #expect(throws: (any Error).self) { try workspace.run(named: "20260101-000000-000010", experiment: "other") }
        do {
            _ = try workspace.run(named: "20260101-000000-00000")
            Issue.record("an ambiguous name was taken")
        } catch let error as AutoresearchError {
            #expect(error.message.contains("names 10 runs") && error.message.contains("20260101-000000-000003 discard on"), "\(error.message)")
        }
    }
}

/// The numbers of `log`'s exact cells printed without `printf` are `printf`'s text.
@Suite(.ownThreads) struct NumberTextTests {
    /// `Number.exact` as it was written with `printf` alone: the shortest of `%.6g`, `%.15g`, `%.17g` that reads back.
    func byPrintf(_ value: Double) -> String {
        for digits in [6, 15] {
            let text = String(format: "%.\(digits)g", value)
            if Double(text) == value { return text }
        }
        return String(format: "%.17g", value)
    }

    @Test func exactAndSecondsAreWhatPrintfPrints() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.0, 1, -1, 0.1, 1e-5, 0.0001, 0.00012345, 123456, 999999, 999999.5, 1e6, 2e6, 1234567, 1e15, 1e16, 1e21,
                                5e-324, .leastNormalMagnitude, .greatestFiniteMagnitude, .nan, .infinity, -.infinity, 0.1 + 0.2, 1.0 / 3, 2.675, 0.0005, 1.0005]
        for exponent in -12...22 {
            for decimals in [0, 1, 3, 6, 17] {
                let scale = Double.random(in: 1..<10, using: &generator) * pow(10, Double(exponent))
                let factor = pow(10, Double(decimals))
                values.append((scale * factor).rounded() / factor)
                values.append(-scale)
            }
        }
        for _ in 0..<2000 { values.append(Double(Int.random(in: 0...10_000_000, using: &generator)) / 1000) }
        // The charts' coordinates: ties of tenths, and values a rounding error away from them.
        for tenth in stride(from: -2000.0, through: 2000, by: 1) {
            values += [(tenth + 0.5) / 10, ((tenth + 0.5) / 10).nextUp, ((tenth + 0.5) / 10).nextDown, tenth / 10 + 0.05, tenth / 100]
        }
        for _ in 0..<2000 { values.append(Double.random(in: -1000...1000, using: &generator)) }
        for value in values {
            #expect(Number.exact(value) == byPrintf(value), "\(value)")
            #expect(Number.seconds(value) == String(format: "%.3f", value), "\(value)")
            #expect(Number.format(value) == String(format: "%.6g", value), "\(value)")
            #expect(Number.tenths(value) == String(format: "%.1f", value), "\(value)")
        }
    }
}
