import ArgumentParser
import Autoresearch

extension GitAutoresearch {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write an experiment's runs as results.tsv (commit, metric, status, description).",
            discussion: "The columns and number format of the autoresearch skill's runner (--layout skill: short commit, metric with six decimals or N/A, status with 'baseline' for the baseline, description) or of Karpathy's setup (--layout karpathy: the metric's name as its column, 0.000000 for no value). Every reported metric (m.NAME) is a column between the metric and the status (Karpathy's memory_gb with one decimal). 'import' reads either back into the same records.")

        @OptionGroup var target: ExperimentOption

        @Option(help: "Output format (tsv: results.tsv).")
        var format: ExportFormat = .tsv

        @Option(name: [.short, .long], help: "Write to this file instead of standard output.")
        var output: String?

        @Option(help: "Columns and conventions: skill (the autoresearch skill's) or karpathy (Karpathy's setup).")
        var layout: ResultsLayout = .skill

        enum ExportFormat: String, ExpressibleByArgument, CaseIterable { case tsv }

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            let text = try workspace.exportTSV(experiment: name, layout: layout)
            if let output {
                try workspace.writeOutput(Array(text.utf8), to: output)
            } else {
                print(text, terminator: "")
            }
        }
    }
}

extension ResultsLayout: ExpressibleByArgument {}
