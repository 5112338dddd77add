@testable import Autoresearch
import Foundation
import Git
import Testing
import Fixtures

/// The HTML and SVG reports drawn from the ledger index's fields are the reports drawn from the
/// records parsed from the notes as the git CLI reads them, byte for byte: every chart, the top
/// runs, the runs table and the details, on records with hostile texts, several hosts and
/// workers, runs without a value, noise, reported metrics and `m.` in descriptions.
@Suite(.ownThreads) struct IndexedReportTests {
    /// The five runs of `repositoryWithRuns` and 60 more of experiment `s` on its commits.
    func repositoryWithVariedRuns() throws -> (TempRepository, Workspace) {
        let repo = try repositoryWithRuns()
        let repository = try Repository(path: repo.path)
        let ledger = Ledger(repository: repository)
        let commits = try repo.git(["rev-list", "--all"]).split(separator: "\n").compactMap { OID(hex: String($0)) }
        let texts = ["plain", "tag <b>&amp; \"quoted\" 'single'", "line\nbreak\tand\u{1} control", "café 日本 👩‍👩‍👧", "uses m.x in words", ""]
        for index in 0..<60 {
            let status: RunStatus = [.discard, .keep, .crash, .discard, .timeout, .recheck][index % 6]
            let value: Double? = status == .crash || status == .timeout ? nil : 3 - Double(index) / 100 + (index % 7 == 0 ? 0.05 : 0)
            var record = RunRecord(experiment: "s", run: String(format: "20261201-%06d-%06x", index, index * 7919), status: status, metric: "score",
                                   value: value, bestBefore: 3.5, direction: .lower, duration: Double(index) / 4 + 0.125,
                                   start: Date(timeIntervalSince1970: 1_795_438_310 + Double(index) * 97.3), exitCode: value == nil ? 1 : 0,
                                   reason: value == nil ? "exit 1" : nil, description: texts[index % texts.count] + " \(index)",
                                   host: ["lab-1", "lab-2", "lab\u{301}-3"][index % 3])
            if index % 4 == 1 { record.worker = index % 3 }
            if status == .keep { (record.noise, record.samples) = (0.02, [value!, value! + 0.01]) }
            if index % 5 == 2 { record.metrics = [("peak_mb", 100 + Double(index)), ("a/score", Double(index) / 3)] }
            try ledger.append(record, on: commits[index % commits.count])
        }
        return (repo, try Workspace(discoveringFrom: repo.path))
    }

    /// The runs of experiment `s` as the git CLI reads the notes, each record parsed from its line.
    func parsedRuns(_ repo: TempRepository) throws -> [IndexedRecord] {
        var runs: [IndexedRecord] = []
        for pair in try repo.git(["notes", "--ref=autoresearch", "list"]).split(separator: "\n") {
            let ids = pair.split(separator: " ").map(String.init)
            var ordinal = 0
            for line in try repo.git(["cat-file", "blob", ids[0]]).split(separator: "\n") {
                guard let record = RunRecord(line: String(line)) else { continue }
                runs.append(IndexedRecord(record, line: ArraySlice(line.utf8), ordinal: ordinal, on: OID(hex: ids[1])!))
                ordinal += 1
            }
        }
        return runs.filter { $0.experiment == "s" }.sorted(by: IndexedRecord.inLedgerOrder)
    }

    /// The `count` best of `runs` that passed, rechecks left out, best first, equal values in
    /// ledger order: ranked among all of them, as the reports did before `LedgerIndex.best`.
    static func topRuns(_ runs: [IndexedRecord], _ count: Int, direction: Direction) -> [IndexedRecord] {
        let passed = runs.filter { $0.record.passed && $0.record.status != .recheck }
        let ranked = passed.enumerated().sorted { a, b in
            let (x, y) = (a.element.record.value!, b.element.record.value!)
            return x == y ? a.offset < b.offset : direction.isBetter(x, than: y)
        }
        return ranked.prefix(count).map(\.element)
    }

    @Test func theTopRunsReadFromTheIndexAreTheBestOfAllRecords() throws {
        let (repo, workspace) = try repositoryWithVariedRuns()
        let parsed = try parsedRuns(repo)
        for count in [0, 1, 3, 5, 40, 100] {
            let rows = try workspace.reportRows(top: count, withRuns: false)
            #expect(rows.first?.top.map(\.run) == Self.topRuns(parsed, count, direction: .lower).map(\.run), "top \(count)")
            #expect(rows.first?.runs.isEmpty == true)
        }
        // Equal values: the earlier in ledger order first, whatever the order they come in.
        let ties = parsed.filter { $0.record.passed && $0.status != .recheck }.map(\.value!)
        #expect(Set(ties).count < ties.count, "the runs have equal values")
    }

    @Test func theChartsTablesAndDetailsFromTheIndexAreTheOnesFromParsedRecords() throws {
        let (repo, workspace) = try repositoryWithVariedRuns()
        let parsed = try parsedRuns(repo)
        let row = try #require(try workspace.reportRows(top: 5, withRuns: true).first)
        #expect(row.runs.count == 65 && parsed.count == 65)
        let fromRecords = ReportRow(id: row.id, experiment: row.experiment, summary: row.summary, lastRun: row.lastRun, latestPass: row.latestPass,
                                    ranSmoke: row.ranSmoke, best: row.best, baseline: row.baseline,
                                    top: Self.topRuns(parsed, 5, direction: row.experiment.direction), runs: parsed)
        for options in [ChartOptions(), ChartOptions(axis: .time, logScale: true)] {
            let indexed = try workspace.experimentSection(row, options: options)
            #expect(Array(indexed.utf8) == Array(try workspace.experimentSection(fromRecords, options: options).utf8))
            #expect(indexed.contains("<h3>Secondary metrics and constraints</h3>") && indexed.contains("class=\"noise\""))
            #expect(indexed.contains("stroke=\"#ff7f0e\" stroke-width=\"2\"") && indexed.contains("&lt;b&gt;&amp;amp;"))
            let chart = ProgressChart(progress: Progress(runs: parsed, direction: row.experiment.direction), metric: "score", options: options)
            let svg = try workspace.progressSVG(experiment: "s", options: options)
            let drawn = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + chart.svg(id: "progress", title: Workspace.chartTitle(row.experiment, options))
            #expect(Array(svg.utf8) == Array(drawn.utf8))
        }
        // The runs with metrics are the only ones parsed for the secondary charts.
        #expect(row.runs.filter { !$0.metrics.isEmpty }.map(\.run) == parsed.filter { !$0.record.metrics.isEmpty }.map(\.run))
    }

    @Test func htmlEscapeIsTheCharacterByCharacterEscape() {
        let texts = ["plain", "run 20261201-000001 · discard · score=2e+06\nrun 1", "a & b", "<b>", "\"q\" 'q'", "&\u{301} <\u{301}", "tab\there",
                     "cr\rhere", "bell\u{7}", "del\u{7F}", "c1 \u{85} \u{9B}[31m", "\u{A0} nbsp \u{C2}\u{A9}", "é 日本 👩‍👩‍👧", "", "\n", "\u{2028}"]
        for text in texts {
            for multiline in [false, true] {
                #expect(Array(HTML.escape(text, multiline: multiline).utf8) == Array(HTML.escapedCharacterByCharacter(text, multiline: multiline).utf8),
                        "\(text.debugDescription)")
            }
        }
    }
}
