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

    /// Seconds of evaluation by status, the statuses with runs only (kept in the index's summary).
    var timeByStatus: [(status: RunStatus, seconds: Double)] {
        RunStatus.allCases.compactMap { status in summary.seconds[status].map { (status, $0) } }
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
        let total = summary.totalSeconds
        return [id, Self.valueText(baseline?.value), Self.valueText(best?.record.value), improvementText,
                "\(summary.total)" + (counts.isEmpty ? "" : " (\(counts))"),
                Durations.format(total) + (time.isEmpty ? "" : " (\(time))")]
    }

    var summaryLine: String { "| " + summaryCells.map(UntrustedText.markdownCell).joined(separator: " | ") + " |" }

    /// The top runs in Markdown, under the experiment's details.
    var topLines: [String] {
        guard !top.isEmpty else { return [] }
        return ["- Top runs:"] + top.enumerated().map { rank, run in
            "  \(rank + 1). `\(experiment.metric)=\(Number.format(run.value!))` run `\(run.run)` on `\(run.commit.short)` (\(run.status.rawValue))"
                + (run.description.isEmpty ? "" : ": \(run.description)")
        }
    }
}
