import ArgumentParser
import Autoresearch

extension GitAutoresearch {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an experiment's runs as results.tsv (commit, metric, status, description).",
            discussion: "The columns and number format of the autoresearch skill's runner: short commit, metric with six decimals or N/A, status, description.")

        @OptionGroup var target: ExperimentOption

        @Option(help: "Output format (tsv: results.tsv).")
        var format: ExportFormat = .tsv

        @Option(name: [.short, .long], help: "Write to this file instead of standard output.")
        var output: String?

        enum ExportFormat: String, ExpressibleByArgument, CaseIterable { case tsv }

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            let text = try workspace.exportTSV(experiment: name)
            if let output {
                try workspace.writeOutput(Array(text.utf8), to: output)
            } else {
                print(text, terminator: "")
            }
        }
    }
}
