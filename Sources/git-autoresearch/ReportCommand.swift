import ArgumentParser
import Autoresearch

extension GitAutoresearch {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the Experiments document: the matrix, the latest passing runs, and details per experiment.",
            discussion: """
            Built from the experiments' configurations and the ledger only, so the same records give \
            the same document on every machine. Experiments are numbered Exp-001... in name order. \
            A run passes when its full evaluation gave a value and met the metric file's contract and \
            the constraints; Smoke is ticked when a run passed the smoke stage.
            """)

        @Option(help: "Output: markdown.")
        var format: ReportFormat = .markdown

        @Option(name: [.short, .customLong("output")], help: "Write to this file instead of standard output.")
        var output: String?

        mutating func run() throws {
            let workspace = try Workspace()
            let document = try workspace.experimentsReport()
            if let output {
                try workspace.writeOutput(Array(document.utf8), to: output)
            } else {
                print(document, terminator: "")
            }
        }
    }
}

/// Formats of `report`.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case markdown
}
