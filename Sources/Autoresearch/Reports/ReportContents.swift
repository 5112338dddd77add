import Foundation

/// What the reports say of an experiment's runs as a whole: baseline, best and improvement, runs
/// and time by status, the top runs.
extension ReportRow {
    /// The relative change from the baseline to the best, positive when better; nil while the
    /// best is the baseline.
    var improvement: Double? {
        guard let base = baseline?.value, let value = best?.record.value, best?.record.run != baseline?.run else { return nil }
        return experiment.direction.improvement(from: base, to: value)
    }

    /// Runs by status, the statuses with runs only, in the order of `RunStatus`.
    var countsByStatus: [(status: RunStatus, count: Int)] {
        RunStatus.allCases.compactMap { status in summary.counts[status].map { (status, $0) } }
    }

    /// Seconds of evaluation by status, the statuses with runs only.
    var timeByStatus: [(status: RunStatus, seconds: Double)] {
        RunStatus.allCases.compactMap { status in
            let runs = progress.runs.filter { $0.record.status == status }
            return runs.isEmpty ? nil : (status, runs.reduce(0) { $0 + $1.record.duration })
        }
    }

    /// The `count` best runs that passed (rechecks left out: they measure a kept commit again),
    /// best first; equal values in ledger order.
    func topRuns(_ count: Int) -> [RunEntry] {
        let passed = progress.runs.filter { $0.record.passed && $0.record.status != .recheck }
        let ranked = passed.enumerated().sorted { a, b in
            let (x, y) = (a.element.record.value!, b.element.record.value!)
            return x == y ? a.offset < b.offset : experiment.direction.isBetter(x, than: y)
        }
        return ranked.prefix(max(count, 0)).map(\.element)
    }

    /// The improvement as text: `+60.00%`, or `—`.
    var improvementText: String { Self.percent(improvement) }

    /// A relative change as a signed percentage (`+60.00%`, never `-0.00%`), or `—`.
    static func percent(_ change: Double?) -> String { change.map { String(format: "%+.2f%%", $0 * 100 + 0) } ?? "—" }

    /// A value of the metric as text, or `—`.
    static func valueText(_ value: Double?) -> String { value.map(Number.format) ?? "—" }

    /// The Summary row: id, baseline, best, improvement, runs by status, time by status.
    var summaryCells: [String] {
        let counts = countsByStatus.map { "\($0.count) \($0.status.rawValue)" }.joined(separator: ", ")
        let time = timeByStatus.map { "\(Durations.format($0.seconds)) \($0.status.rawValue)" }.joined(separator: ", ")
        let total = progress.runs.reduce(0) { $0 + $1.record.duration }
        return [id, Self.valueText(baseline?.value), Self.valueText(best?.record.value), improvementText,
                "\(summary.total)" + (counts.isEmpty ? "" : " (\(counts))"),
                Durations.format(total) + (time.isEmpty ? "" : " (\(time))")]
    }

    var summaryLine: String { "| " + summaryCells.map(UntrustedText.markdownCell).joined(separator: " | ") + " |" }

    /// The top runs in Markdown, under the experiment's details.
    func topLines(_ count: Int) -> [String] {
        let top = topRuns(count)
        guard !top.isEmpty else { return [] }
        return ["- Top runs:"] + top.enumerated().map { rank, run in
            let record = run.record
            return "  \(rank + 1). `\(experiment.metric)=\(Number.format(record.value!))` run `\(record.run)` on `\(run.commit.short)` (\(record.status.rawValue))"
                + (record.description.isEmpty ? "" : ": \(record.description)")
        }
    }
}
