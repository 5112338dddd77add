import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the experiments of this repository.")

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        mutating func run() throws {
            let workspace = try Workspace()
            let names = try workspace.experimentNames()
            let statuses = try workspace.statuses(of: names)
            for status in statuses { if let repaired = status.repaired { Terminal.notice(repaired) } }
            let rows = zip(names, statuses).map { (name: $0, status: $1) }
            if format == .json {
                let objects = rows.map { row -> [String: Any?] in
                    ["experiment": row.name, "metric": row.status.experiment.metric,
                     "direction": row.status.experiment.direction.rawValue, "evaluate": row.status.experiment.evaluate,
                     "runs": row.status.runs, "best_value": row.status.best?.record.value,
                     "best_commit": row.status.best?.commit.hex]
                }
                print("[" + objects.map(Terminal.json).joined(separator: ",") + "]")
                return
            }
            guard !rows.isEmpty else {
                print("no experiments; create one with: git autoresearch init --name NAME --eval 'CMD' --metric METRIC")
                return
            }
            let header = ["EXPERIMENT", "METRIC", "BEST", "RUNS", "EVALUATE"]
            let table = rows.map { row -> [String] in
                let experiment = row.status.experiment
                let arrow = experiment.direction == .lower ? "↓" : "↑"
                return [row.name, "\(experiment.metric) \(arrow)", row.status.best?.record.value.map(Number.format) ?? "-",
                        String(row.status.runs), experiment.evaluate]
            }
            let widths = header.indices.map { column in ([header] + table).map { $0[column].count }.max()! }
            for (index, row) in ([header] + table).enumerated() {
                let line = row.enumerated().map { column, cell in
                    column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                }.joined(separator: "  ")
                print(index == 0 ? Terminal.paint(line, .bold) : line)
            }
        }
    }
}
