import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Write the Experiments report: Markdown, a self-contained HTML page with charts, or the progress chart as SVG.",
            discussion: """
            Built from the experiments' configurations and the ledger only, so the same records give \
            the same document, byte for byte, on every machine. Experiments are numbered Exp-001... in \
            name order. A run passes when its full evaluation gave a value and met the metric file's \
            contract and the constraints; Smoke is ticked when a run passed the smoke stage.

            markdown: the matrix, a summary (baseline, best, improvement, runs and time by status), \
            the latest passing runs, and details per experiment with its top runs.
            html: the same, plus per experiment the progress chart against run number and against \
            time (every run a dot coloured by status, the kept ones joined as the running best, the \
            baseline dashed, the noise band when measured), small charts of the other metrics, the \
            runs table (click a column to sort, filter by status) and each run's details (record, log \
            tail, artifacts, its change against its parent and against the best). Nothing is loaded \
            from the network. With -o DIR, the page is DIR/index.html.
            svg: the progress chart of one experiment (-e) alone, for a README or a paper.
            """)

        @Option(help: "Output: markdown, html or svg.")
        var format: ReportFormat = .markdown

        @Option(name: [.short, .customLong("output")], help: "Write to this file (html: or into this directory, as index.html) instead of standard output.")
        var output: String?

        @Option(name: [.short, .long], help: "svg: the experiment (default: the one HEAD is on, or the only one).")
        var experiment: String?

        @Option(help: "svg: the horizontal axis, run (run number) or time.")
        var axis: ChartOptions.Axis = .run

        @Flag(help: "html, svg: a logarithmic metric axis (linear when a value is not positive).")
        var logScale = false

        @Option(help: "How many runs the top runs list shows per experiment.")
        var top: Int = Workspace.defaultReportTop

        mutating func run() throws {
            let workspace = try Workspace()
            let options = ChartOptions(axis: axis, logScale: logScale)
            let document: String
            switch format {
            case .markdown: document = try workspace.experimentsReport(top: top)
            case .html: document = try workspace.htmlReport(options: options, top: top)
            case .svg: document = try workspace.progressSVG(experiment: try workspace.resolveExperimentName(experiment), options: options)
            }
            guard var output else { return print(document, terminator: "") }
            var isDirectory: ObjCBool = false
            if format == .html, output.hasSuffix("/") || FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) && isDirectory.boolValue {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                output = (output as NSString).appendingPathComponent("index.html")
            }
            try workspace.writeOutput(Array(document.utf8), to: output)
        }
    }
}

/// Formats of `report`.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case markdown, html, svg
}

extension ChartOptions.Axis: ExpressibleByArgument {}
