import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Bring a results.tsv into the ledger, for the commits that exist here.",
            discussion: "Reads the skill's layout (commit, metric, status, description) and Karpathy's (commit, val_bpb, memory_gb, status, description); every row becomes a run, in order: 'baseline' rows and the first keep are baselines, later keeps improvements with their best before, a crash's 0.000000 is no value, the skill's 'timeout_NNs' crashes are timeouts, and every column between the metric and the status is kept as a metric (m.NAME). Rows whose commit is missing, whose status is unknown, or that were already imported from the same file are skipped and listed. Exit status 0 when every row was imported, 2 when some were skipped.")

        @OptionGroup var target: ExperimentOption

        @Argument(help: "The results.tsv file.")
        var file: String

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw AutoresearchError("cannot read \(file)", hint: "give the path of a results.tsv file")
            }
            let report = try workspace.importTSV(text, experiment: name)
            print("imported \(report.imported) run\(report.imported == 1 ? "" : "s") into '\(name)'\(report.skipped.isEmpty ? "" : ", skipped \(report.skipped.count):")")
            for skipped in report.skipped { print("  line \(skipped.line): \(UntrustedText.visible(skipped.reason))") }
            if !report.skipped.isEmpty { throw ExitCode(2) }
        }
    }
}
