import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the experiments of this repository.")

        @Flag(name: [.short, .long], help: "Add kept runs, change from baseline and last activity (counted from the ledger index).")
        var long = false

        @Option(help: "Output: table, tsv, csv, markdown or json.")
        var format: TableFormat = .table

        mutating func run() throws {
            let workspace = try Workspace()
            let names = try workspace.experimentNames()
            let statuses = try workspace.statuses(of: names)
            for status in statuses { if let repaired = status.repaired { Terminal.notice(repaired) } }
            if names.isEmpty, format == .table {
                print("no experiments; create one with: git autoresearch init --name NAME --eval 'CMD' --metric METRIC")
                return
            }
            // TSV and CSV are for scripts: the fields of the JSON, exact, one column each.
            let fields = format == .tsv || format == .csv
                ? (long ? ["experiment", "metric", "direction", "runs", "kept", "baseline_value", "best_value", "improvement", "last_run",
                           "evaluate", "best_commit", "branch_gone"]
                        : ["experiment", "metric", "direction", "best_value", "runs", "evaluate"])
                : nil
            var table = Table(header: fields ?? (long ? ["EXPERIMENT", "METRIC", "RUNS", "KEPT", "BASELINE", "BEST", "CHANGE", "LAST RUN", "EVALUATE"]
                                                      : ["EXPERIMENT", "METRIC", "BEST", "RUNS", "EVALUATE"]))
            for (name, status) in zip(names, statuses) {
                let experiment = status.experiment
                let arrow = experiment.direction == .lower ? "↓" : "↑"
                let best = status.best?.record.value.map(Number.format) ?? "-"
                let kept = status.counts.first { $0.status == .keep }?.count ?? 0
                let change = status.improvement.map { String(format: "%+.2f%%", $0 * 100) } ?? "-"
                let last = status.lastRun.map { RunRecord.timestamp($0.start).prefix(16).replacingOccurrences(of: "T", with: " ") } ?? "-"
                let label = status.restoreCommand == nil ? name : name + " (branch gone)"
                let json: [String: Any?] = [
                    "experiment": name, "branch_gone": status.restoreCommand != nil, "metric": experiment.metric, "direction": experiment.direction.rawValue,
                    "evaluate": experiment.evaluate, "runs": status.runs, "best_value": status.best?.record.value,
                    "best_commit": status.best?.commit.hex, "kept": kept, "baseline_value": status.baseline?.value,
                    "improvement": status.improvement, "last_run": status.lastRun.map { RunRecord.timestamp($0.start) },
                ]
                let cells = fields.map { $0.map { Self.exactCell(json[$0] ?? nil) } } ?? (long
                    ? [label, "\(experiment.metric) \(arrow)", String(status.runs), String(kept),
                       status.baseline?.value.map(Number.format) ?? "-", best, change, last, experiment.evaluate]
                    : [label, "\(experiment.metric) \(arrow)", best, String(status.runs), experiment.evaluate])
                table.append(cells, json: json)
            }
            print(table.render(format))
        }

        /// A JSON field's value as a TSV or CSV cell: numbers exact, nothing as an empty cell.
        static func exactCell(_ value: Any?) -> String {
            switch value {
            case let number as Double: return Number.exact(number)
            case let flag as Bool: return String(flag)
            case let other?: return "\(other)"
            case nil: return ""
            }
        }
    }
}
