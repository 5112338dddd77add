import Foundation

extension Workspace {
    /// The Experiments report as one self-contained HTML page: for all experiments the summary,
    /// the matrix and the latest passing runs; per experiment the progress charts (against run
    /// number and time), small charts of the secondary metrics and constraints, the top runs, the
    /// runs table (sortable, filterable by status) and each run's details (record, log tail,
    /// artifacts, its change against its parent and against the best). Nothing is loaded from
    /// the network (a CSP forbids it) and nothing depends on when or where it is made: the same
    /// records give the same bytes.
    public func htmlReport(options: ChartOptions = ChartOptions(), top: Int = Workspace.defaultReportTop) throws -> String {
        let rows = try reportRows(top: top, withRuns: true)
        var body = ["<header><h1>Experiments</h1><nav>"
            + rows.map { "<a href=\"#\(Self.experimentAnchor($0))\">\(HTML.escape($0.id)) \(HTML.escape($0.name))</a>" }.joined(separator: " ")
            + "</nav></header>"]
        body.append("<section id=\"summary\"><h2>Summary</h2>" + HTML.table(
            ["ID", "Baseline", "Best", "Improvement", "Runs", "Time"].map { HTML.escape($0) },
            rows.map { row in row.summaryCells.enumerated().map { $0.offset == 0 ? "<a href=\"#\(Self.experimentAnchor(row))\">\(HTML.escape($0.element))</a>" : HTML.escape($0.element) } },
            attributes: " class=\"summary\"") + "</section>")
        body.append("<section id=\"matrix\"><h2>Matrix</h2>" + HTML.table(
            ["ID", "Name", "Command", "Metrics", "Artifacts", "Smoke", "Full"], rows.map { $0.matrixCells.map(HTML.inlineCode) }) + "</section>")
        body.append("<section id=\"latest\"><h2>Latest passing runs</h2><ul>"
            + rows.map { "<li>\(HTML.inlineCode(String($0.latestLine.dropFirst(2))))</li>" }.joined(separator: "\n") + "</ul></section>")
        for row in rows { body.append(try experimentSection(row, options: options)) }
        return Self.page(title: "Experiments", body: body.joined(separator: "\n"))
    }

    /// The progress chart of an experiment alone, as an SVG document.
    public func progressSVG(experiment name: String, options: ChartOptions = ChartOptions()) throws -> String {
        let experiment = try self.experiment(named: name)
        let chart = ProgressChart(progress: try progress(experiment: name), metric: experiment.metric, options: options)
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + chart.svg(id: "progress", title: Self.chartTitle(experiment, options))
    }

    static func chartTitle(_ experiment: Experiment, _ options: ChartOptions) -> String {
        "\(experiment.title ?? experiment.name): \(experiment.metric) by \(options.axis == .run ? "run" : "time")"
    }

    static func experimentAnchor(_ row: ReportRow) -> String { "exp-" + HTML.escape(row.experiment.name) }

    /// One experiment: facts, charts, top runs, runs table, run details.
    func experimentSection(_ row: ReportRow, options: ChartOptions) throws -> String {
        let anchor = Self.experimentAnchor(row)
        var parts = ["<section class=\"experiment\" id=\"\(anchor)\"><h2>\(HTML.escape(row.id)): \(HTML.escape(row.name))</h2>"]
        let direction = "\(row.experiment.direction.rawValue) is better"
        parts.append("<p class=\"facts\">Metric <code>\(HTML.escape(row.experiment.metric))</code>, \(direction); baseline <b>\(HTML.escape(ReportRow.valueText(row.baseline?.value)))</b>, best <b>\(HTML.escape(ReportRow.valueText(row.best?.record.value)))</b>, improvement <b>\(HTML.escape(row.improvementText))</b>. Runs: \(HTML.escape(row.summaryCells[4])); time: \(HTML.escape(row.summaryCells[5])).</p>")
        guard !row.runs.isEmpty else { return (parts + ["<p>No runs yet.</p></section>"]).joined(separator: "\n") }
        let detailed = Self.detailedRuns(row)
        let linked = Set(detailed.map(\.record.run))
        parts.append("<div class=\"charts\">")
        for axis in ChartOptions.Axis.allCases {
            var chartOptions = options
            chartOptions.axis = axis
            let chart = ProgressChart(progress: row.progress, metric: row.experiment.metric, options: chartOptions, linkedRuns: linked)
            parts.append(chart.svg(id: "\(anchor)-progress-\(axis.rawValue)", title: Self.chartTitle(row.experiment, chartOptions)))
        }
        parts.append("</div>")
        parts += secondaryCharts(row, anchor: anchor, options: options, linked: linked)
        parts.append(topTable(row))
        parts += runsTable(row, anchor: anchor, detailed: linked)
        parts.append("<h3>Run details</h3>")
        if detailed.count < row.runs.count {
            parts.append("<p class=\"hint\">The newest \(Self.reportDetailedRuns) runs, the top ones and the best: git autoresearch show RUN for the others.</p>")
        }
        for run in detailed.reversed() { parts.append(try runDetails(run, row: row)) }
        parts.append("</section>")
        return parts.joined(separator: "\n")
    }

    /// Small charts of the required metrics, the constrained ones, and any other metric reported.
    func secondaryCharts(_ row: ReportRow, anchor: String, options: ChartOptions, linked: Set<String>) -> [String] {
        let experiment = row.experiment
        let reported = Set(row.runs.flatMap { $0.metrics.map(\.name) })
        let named = experiment.requiredKeys + experiment.constraints.map(\.metric)
        var names = named + reported.subtracting(named).sorted()
        names = names.enumerated().filter { names.firstIndex(of: $0.element) == $0.offset && $0.element != experiment.metric }.map(\.element)
        guard !names.isEmpty else { return [] }
        var parts = ["<h3>Secondary metrics and constraints</h3><div class=\"small-charts\">"]
        for (number, name) in names.prefix(24).enumerated() {
            let constraints = experiment.constraints.filter { $0.metric == name }.map(\.description)
            let title = name + (constraints.isEmpty ? "" : " (" + constraints.joined(separator: ", ") + ")")
            let chart = ProgressChart(progress: row.progress, metric: name, options: options, small: true, linkedRuns: linked) { $0.metricValues[name] }
            parts.append(chart.svg(id: "\(anchor)-metric-\(number + 1)", title: title))
        }
        parts.append("</div>")
        return parts
    }

    /// The top runs of an experiment: rank, run, value, improvement over the baseline, description.
    func topTable(_ row: ReportRow) -> String {
        let runs = row.top
        guard !runs.isEmpty else { return "" }
        let cells = runs.enumerated().map { rank, run -> [String] in
            let record = run.record
            let change = row.baseline?.value.flatMap { row.experiment.direction.improvement(from: $0, to: record.value!) }
            return ["\(rank + 1)", "<a href=\"#\(HTML.runAnchor(record.run))\">\(HTML.escape(record.run))</a>", HTML.escape(Number.format(record.value!)),
                    record.run == row.baseline?.run ? "baseline" : ReportRow.percent(change), HTML.escape(record.status.rawValue), HTML.escape(record.description)]
        }
        return "<h3>Top \(runs.count) runs</h3>" + HTML.table(["#", "Run", HTML.escape(row.experiment.metric), "vs baseline", "Status", "Description"], cells, attributes: " class=\"top\"")
    }
}
