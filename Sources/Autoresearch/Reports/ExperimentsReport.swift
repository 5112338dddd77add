import Foundation
import Git

extension Workspace {
    /// The "Experiments" document of the repository, in Markdown, from the configurations and the
    /// ledger: the matrix (id, name, command, metrics, artifacts, smoke and full passed), the
    /// latest passing run of each experiment with its key metrics and artifacts, and a details
    /// block per experiment. Experiments are numbered `Exp-001`... in name order. The document
    /// depends only on what is in git, so the same ledger gives the same document anywhere.
    public func experimentsReport(top: Int = Workspace.defaultReportTop) throws -> String {
        let rows = try reportRows(top: top, withRuns: false)
        var lines = ["# Experiments", "", "## Matrix",
                     "| ID | Name | Command | Metrics | Artifacts | Smoke | Full |", "|---|---|---|---|---|---|---|"]
        lines += rows.map(\.matrixLine)
        lines += ["", "## Summary", "| ID | Baseline | Best | Improvement | Runs | Time |", "|---|---|---|---|---|---|"]
        lines += rows.map(\.summaryLine)
        let latest = rows.compactMap(\.latestPass).map(\.record.start).max()
        lines += ["", "## Latest Passing Runs" + (latest.map { " (\(ReportRow.date($0)))" } ?? "")]
        lines += rows.map(\.latestLine)
        lines += ["", "## Details"]
        for row in rows { lines += [""] + row.details + row.topLines }
        // Every line is one line: a newline or control character in a title, goal, command or reason is shown, not obeyed.
        return lines.map { UntrustedText.visible($0) }.joined(separator: "\n") + "\n"
    }
}

extension Workspace {
    /// How many runs the reports' top runs list shows unless told.
    public static let defaultReportTop = 5

    /// Each experiment as the reports show it, in name order, numbered `Exp-001`..., with its
    /// `top` best runs, and every run when `withRuns` (the HTML report's charts and runs table).
    func reportRows(top: Int, withRuns: Bool) throws -> [ReportRow] {
        let names = try experimentNames()
        return try ledger.withIndex { index in
            let reader = ledger.reading(through: index)
            return try names.enumerated().map { number, name in
                let context = context(name)
                let tip = try context.tipOrRestorePoint().commit
                let experiment = try context.configuration(at: tip)
                let standing = try reader.bestAndBaseline(experiment: name, from: tip)
                return ReportRow(id: String(format: "Exp-%03d", number + 1), experiment: experiment,
                                 summary: index.summaries[name] ?? RunSummary(), lastRun: try index.lastRun(experiment: name),
                                 latestPass: try index.latestPassingRun(experiment: name),
                                 ranSmoke: experiment.smoke != nil && index.ranSmokeStage(experiment: name),
                                 best: standing?.best, baseline: standing?.baseline,
                                 top: try index.best(top, experiment: name, direction: experiment.direction),
                                 runs: withRuns ? try index.newest(nil, keys: { $0.experiment.elementsEqual(name.utf8) }) : [])
            }
        }
    }
}

/// One experiment in the reports.
struct ReportRow {
    let id: String
    let experiment: Experiment
    /// The experiment's runs, counted.
    let summary: RunSummary
    let lastRun: RunEntry?
    /// The latest run that passed the full stage.
    let latestPass: RunEntry?
    /// True when a run reached the smoke stage.
    let ranSmoke: Bool
    let best: RunEntry?
    /// The baseline the best is measured against.
    let baseline: RunRecord?
    /// The best runs that passed (rechecks left out: they measure a kept commit again), best
    /// first, equal values in ledger order (`LedgerIndex.best`).
    let top: [IndexedRecord]
    /// Every run of the experiment as the index keeps it, in ledger order (the HTML report's only).
    let runs: [IndexedRecord]

    /// Every run of the experiment, and the running best (for the charts): no record parsed.
    var progress: Progress { Progress(runs: runs, direction: experiment.direction) }

    var name: String { experiment.title ?? experiment.name }

    /// The cells of the Matrix row, in Markdown (code in backticks).
    var matrixCells: [String] {
        let metrics = ["`\(experiment.metric)` (\(experiment.direction.rawValue))"] + experiment.requiredKeys.map { "`\($0)`" }
            + experiment.constraints.map { "`\($0)`" }
        let smoke = experiment.smoke == nil ? "—" : Self.box(ranSmoke)
        return [id, name, "`\(experiment.evaluate)`", metrics.joined(separator: ", "),
                experiment.artifacts.map { "`\($0)`" }.joined(separator: ", "), smoke, Self.box(latestPass != nil)]
    }

    var matrixLine: String { "| " + matrixCells.map(UntrustedText.markdownCell).joined(separator: " | ") + " |" }

    var latestLine: String {
        let stages = experiment.smoke == nil ? "full" : "smoke/full"
        guard let pass = latestPass else {
            let last = lastRun.map { "; last run \($0.record.run): \($0.record.status.rawValue)\($0.record.reason.map { ", \($0)" } ?? "")" } ?? ""
            return "- \(id) \(stages): no passing run yet (\(summary.total) run\(summary.total == 1 ? "" : "s")\(last))"
        }
        let record = pass.record
        var line = "- \(id) \(stages): passed, run `\(record.run)` on `\(pass.commit.short)` (\(Self.date(record.start))), "
        line += keyMetrics(record).map { "`\($0.name)=\(Number.format($0.value))`" }.joined(separator: ", ")
        if let tree = record.artifacts {
            line += "; artifacts in tree `\(tree.prefix(7))` (git autoresearch artifacts \(record.run) --out DIR)"
        }
        return line
    }

    /// The metric, then the required keys and the constrained metrics reported (per target, with targets).
    func keyMetrics(_ record: RunRecord) -> [(name: String, value: Double)] {
        let reported = record.metricValues
        let keys = experiment.requiredKeys + experiment.constraints.map(\.metric)
        var names = record.targets.isEmpty ? keys : record.targets.flatMap { target in ([experiment.metric] + keys).map { "\(target)/\($0)" } }
        names = names.enumerated().filter { names.firstIndex(of: $0.element) == $0.offset }.map(\.element)
        return [(experiment.metric, record.value!)] + names.compactMap { name in reported[name].map { (name, $0) } }
    }

    var details: [String] {
        var lines = ["### \(id): \(name)", "- Experiment: `\(experiment.name)` on branch `autoresearch/\(experiment.name)`"]
        if let goal = experiment.goal { lines.append("- Goal: \(goal)") }
        lines.append("- Command:")
        if let smoke = experiment.smoke {
            lines.append("  - Smoke: `\(smoke.command)` (budget \(Durations.format(smoke.budget)), limit \(Durations.format(smoke.timeout)))")
        }
        let repeats = experiment.repeats > 1 ? ", \(experiment.repeats) repeats, median" : ""
        lines.append("  - Full: `\(experiment.evaluate)` (budget \(Durations.format(experiment.budget)), limit \(Durations.format(experiment.timeout))\(repeats))")
        if !experiment.targets.isEmpty || experiment.targetsFile != nil {
            let list = experiment.targetsFile.map { "listed in `\($0)`" } ?? experiment.targets.map { "`\($0)`" }.joined(separator: ", ")
            let aggregate: String
            if case .target(let target) = experiment.aggregate { aggregate = "the value of `\(target)`" } else { aggregate = "their \(experiment.aggregate)" }
            lines.append("- Targets, in order: \(list); the metric is \(aggregate)")
        }
        var metric = "- Metric: `\(experiment.metric)`, \(experiment.direction.rawValue) is better"
        if case .jsonFile(let path, let key) = experiment.metricSource { metric += ", read from `\(path)` (key `\(key)`)" }
        lines.append(metric)
        if !experiment.requiredKeys.isEmpty || experiment.metricSource.file != nil {
            let ok = experiment.metricSource.file != nil ? ["`ok=true` when present"] : []
            lines.append("- Required metrics: " + (ok + experiment.requiredKeys.map { "`\($0)`" }).joined(separator: ", "))
        }
        if !experiment.constraints.isEmpty {
            lines.append("- Constraints: " + experiment.constraints.map { "`\($0)`" }.joined(separator: ", "))
        }
        var gate = ["min-delta \(experiment.minDelta?.description ?? "0")"]
        if experiment.repeats > 1 { gate.append("\(Number.format(experiment.noiseWidths)) noise widths") }
        var decision = "- Decision: kept when better than the best by more than " + gate.joined(separator: " and ")
        if experiment.recheckEvery > 0 { decision += "; the best is measured again every \(experiment.recheckEvery) runs" }
        lines.append(decision)
        if !experiment.artifacts.isEmpty {
            lines.append("- Artifacts: " + experiment.artifacts.map { "`\($0)`" }.joined(separator: ", ") + " (at most \(ByteCount.format(experiment.artifactLimit)) a run)")
        }
        let counts = RunStatus.allCases.compactMap { status in summary.counts[status].map { "\($0) \(status.rawValue)" } }
        lines.append("- Runs: \(summary.total)" + (counts.isEmpty ? "" : " (" + counts.joined(separator: ", ") + ")"))
        if let best, let value = best.record.value {
            lines.append("- Best: `\(experiment.metric)=\(Number.format(value))` at `\(best.commit.short)` (run `\(best.record.run)`)")
        }
        return lines
    }

    static func box(_ checked: Bool) -> String { checked ? "[x]" : "[ ]" }

    static func date(_ date: Date) -> String { DateFormatter.utc("yyyy-MM-dd HH:mm 'UTC'").string(from: date) }
}
