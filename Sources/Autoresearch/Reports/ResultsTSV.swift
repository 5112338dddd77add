import Foundation
import Git

/// The two layouts of `results.tsv` the peers write.
public enum ResultsLayout: String, Sendable, CaseIterable {
    /// The autoresearch skill's: `commit metric status description`; a missing value is `N/A`,
    /// the baseline's status is `baseline`.
    case skill
    /// Karpathy's: `commit val_bpb memory_gb status description`, the metric's own name in the
    /// header; a missing value is `0.000000` (and `0.0` for `memory_gb`), the baseline is a `keep`.
    case karpathy
}

/// What `import` did.
public struct ImportReport: Sendable {
    public var imported = 0
    /// Rows not imported: line number in the file and why.
    public var skipped: [(line: Int, reason: String)] = []
}

/// The columns of a `results.tsv` header.
struct ResultsHeader {
    /// The columns between the metric and the status, recorded as `m.NAME`.
    let extraColumns: [String]
    let statusColumn: Int

    /// The tab-separated cells of a line, split on the tab scalar itself (a tab followed by a
    /// combining mark is one Swift character, and must still separate cells).
    static func cells(_ line: String) -> [String] {
        line.unicodeScalars.split(separator: "\t", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
    }

    /// The lines of a file, split on `\n` scalars (`\r\n` is one Swift character), without a
    /// trailing `\r` and without the empty lines at the end.
    static func lines(_ text: String) -> [String] {
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(String.UnicodeScalarView(line.last == "\r" ? line.dropLast() : line))
        }
        while lines.last == "" { lines.removeLast() }
        return lines
    }

    /// A name the record can hold as `m.NAME`: up to 100 characters, no spaces, controls, `,`, `=`, quotes or backslashes.
    static func isMetricName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100
            && !name.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F || ",=\"\\".unicodeScalars.contains($0) }
    }

    init(_ line: String) throws {
        let names = Self.cells(line)
        guard names.first?.lowercased() == "commit", let status = names.firstIndex(where: { $0.lowercased() == "status" }), status >= 2 else {
            throw AutoresearchError("not a results.tsv: the first line must be a header like 'commit<TAB>metric<TAB>status<TAB>description'",
                                    hint: "columns are separated by tabs; Karpathy's layout 'commit val_bpb memory_gb status description' works too")
        }
        extraColumns = Array(names[2..<status])
        statusColumn = status
        for name in extraColumns where !Self.isMetricName(name) {
            throw AutoresearchError("column '\(UntrustedText.visible(String(name.prefix(100))))' of results.tsv is not a metric name",
                                    hint: "a column between the metric and the status is a metric: one word (per target TARGET/NAME) without ',', '=' or quotes")
        }
    }
}

extension Workspace {
    /// The runs of an experiment as a `results.tsv` in `layout`: short commit, the metric with six
    /// decimals, every reported metric (`m.NAME`) as a column, status, description (tabs and line
    /// breaks as spaces). `import` reads it back into the same records.
    public func exportTSV(experiment name: String, layout: ResultsLayout = .skill) throws -> String {
        let runs = try runs(experiment: name)
        var extras: [String] = []
        for run in runs {
            for metric in run.record.metrics where !extras.contains(metric.name) { extras.append(metric.name) }
        }
        let metricHeader = layout == .skill ? "metric" : try experiment(named: name).metric
        let header = ["commit", metricHeader] + extras + ["status", "description"]
        let rows = runs.map { run in
            let record = run.record, values = record.metricValues
            let status = layout == .skill && record.isBaseline ? "baseline" : record.status.rawValue
            return [run.commit.short, Self.exportValue(record.value, layout: layout)]
                + extras.map { Self.exportExtra(values[$0], column: $0, layout: layout) }
                + [status, Self.oneCell(record.description)]
        }
        return ([header] + rows).map { $0.joined(separator: "\t") }.joined(separator: "\n") + "\n"
    }

    /// Text in one cell of the last column: tabs and line breaks as spaces.
    private static func oneCell(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { "\t\n\r".unicodeScalars.contains($0) ? " " : $0 }))
    }

    private static func exportValue(_ value: Double?, layout: ResultsLayout) -> String {
        value.map { String(format: "%.6f", $0) } ?? (layout == .skill ? "N/A" : "0.000000")
    }

    /// A reported metric: Karpathy's `memory_gb` with one decimal, others in the shortest form
    /// that reads back; missing as `N/A` (skill) or zero (Karpathy).
    private static func exportExtra(_ value: Double?, column: String, layout: ResultsLayout) -> String {
        let oneDecimal = layout == .karpathy && column == "memory_gb"
        guard let value else { return layout == .skill ? "N/A" : oneDecimal ? "0.0" : "0" }
        return oneDecimal ? String(format: "%.1f", value) : RunRecord.format(value)
    }

    /// Brings a `results.tsv` into the ledger of `experiment`, every row a run: the skill's layout
    /// or Karpathy's (see `ResultsLayout`), any metric columns between the metric and the status.
    /// `baseline` rows are baselines, a run's value is kept only when it was evaluated (a crash's
    /// `0.000000` is no value), the skill's `timeout_NNs` crashes are timeouts of NN seconds, and
    /// `best_before` follows the rows as a loop would have set it. The rows' order is kept in the
    /// records' start times. Each record notes the file and line it came from (`imported`), so
    /// importing the same file again adds nothing.
    public func importTSV(_ text: String, experiment name: String) throws -> ImportReport {
        let experiment = try self.experiment(named: name)
        let lines = ResultsHeader.lines(text)
        let header = try ResultsHeader(lines.first ?? "")
        let fileID = String(try repository.hashBlob(Array(text.utf8)).hex.prefix(12))
        var report = ImportReport()
        var best: Double?
        let start = Date()
        for (offset, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let number = offset + 1
            do {
                let when = start.addingTimeInterval(Double(number) / 1000)
                var (record, commit, baseline) = try importedRecord(line, header: header, experiment: experiment, start: when)
                record.bestBefore = baseline ? nil : best
                if record.status.holdsBest, let value = record.value { best = value }
                let origin = "\(fileID):\(number)"
                record.extra.append((Self.importedKey, origin))
                if try ledger.records(on: commit, experiment: name).contains(where: { $0.extra.contains { $0.key == Self.importedKey && $0.value == origin } }) {
                    report.skipped.append((number, "already imported from this file (run on \(commit.short))"))
                    continue
                }
                try ledger.append(record, on: commit)
                report.imported += 1
            } catch let skip as SkippedRow {
                report.skipped.append((number, skip.reason))
            }
        }
        return report
    }

    /// The record key naming the file (the first 12 hex digits of its blob id) and line a record was imported from.
    static let importedKey = "imported"

    private struct SkippedRow: Error { let reason: String }

    /// The record of one row, its commit, and whether its status is `baseline` (a keep before
    /// any other is a baseline too: it has no best before it).
    private func importedRecord(_ line: String, header: ResultsHeader, experiment: Experiment, start: Date) throws -> (RunRecord, OID, Bool) {
        let fields = ResultsHeader.cells(line)
        guard fields.count > header.statusColumn else {
            throw SkippedRow(reason: "\(fields.count) columns, the header has at least \(header.statusColumn + 1)")
        }
        let statusText = fields[header.statusColumn]
        guard var status = statusText == "baseline" ? .keep : RunStatus(rawValue: statusText) else {
            throw SkippedRow(reason: "unknown status '\(statusText)'")
        }
        let hash = fields[0].trimmingCharacters(in: .whitespaces)
        guard (4...40).contains(hash.count), hash.allSatisfy(\.isHexDigit), let commit = try repository.resolveCommit(hash) else {
            throw SkippedRow(reason: "commit \(hash) is not in this repository")
        }
        let evaluated = status.holdsBest || status == .discard
        let value = try Self.importedNumber(fields[1], evaluated: evaluated, column: "metric")
        if evaluated, value == nil { throw SkippedRow(reason: "a \(statusText) without a metric value ('\(fields[1])')") }
        let description = fields.count > header.statusColumn + 1 ? fields[(header.statusColumn + 1)...].joined(separator: " ") : ""
        let (duration, exitCode) = Self.skillFailure(description)
        if status == .crash, duration != nil { status = .timeout }
        var record = RunRecord(experiment: experiment.name, run: RunID.make(at: start), status: status, metric: experiment.metric,
                               value: value, bestBefore: nil, direction: experiment.direction, duration: duration ?? 0, start: start,
                               exitCode: exitCode, reason: evaluated ? nil : description.isEmpty ? "imported from results.tsv" : description,
                               description: description, host: "import")
        for (column, name) in header.extraColumns.enumerated() {
            if let number = try Self.importedNumber(fields[column + 2], evaluated: evaluated, column: name) { record.metrics.append((name, number)) }
        }
        return (record, commit, statusText == "baseline")
    }

    /// A number cell: `N/A`, `-` or empty is none; for a row that was not evaluated, zero is none
    /// too (Karpathy writes `0.000000` for a crash).
    private static func importedNumber(_ text: String, evaluated: Bool, column: String) throws -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "N/A" || trimmed == "-" { return nil }
        guard let number = DecimalNumber.finite(trimmed) else {
            throw SkippedRow(reason: "\(column) '\(trimmed.prefix(40))' is not a number")
        }
        return !evaluated && number == 0 ? nil : number
    }

    /// What the skill's runner writes as a crash's description: `timeout_NNs` (the seconds it
    /// ran) or `exit_N` (the exit code).
    private static func skillFailure(_ description: String) -> (timeout: Double?, exitCode: Int32?) {
        if description.hasPrefix("timeout_"), description.hasSuffix("s"),
           let seconds = DecimalNumber.finite(description.dropFirst("timeout_".count).dropLast()) { return (seconds, nil) }
        if description.hasPrefix("exit_"), let code = Int32(description.dropFirst("exit_".count)) { return (nil, code) }
        return (nil, nil)
    }
}
