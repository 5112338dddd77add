import ArgumentParser
import Autoresearch
import Foundation
import Git

extension GitAutoresearch {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Compare two runs: every metric side by side with deltas, their records, and the code between their commits.",
            discussion: "RUN2 defaults to the best run of RUN1's experiment. Metrics: the primary one, every secondary one either run reported (m.NAME, with the experiment's constraints on it), the duration; DELTA is RUN2 - RUN1. The code diff is 'git diff COMMIT1 COMMIT2': the patch, or --stat, or --name-only.")

        @Argument(help: ArgumentHelp("The first run, named as 'show' takes it: its id or a unique part of it from either end, a commit with one run, or best, baseline, last.", valueName: "run1"))
        var run1: String

        @Argument(help: ArgumentHelp("The second run (default: the best run of the first run's experiment).", valueName: "run2"))
        var run2: String?

        @Option(name: [.short, .long], help: "Look for the runs in this experiment only (and take best, baseline, last from it; default: the current one).")
        var experiment: String?

        @Flag(help: "The code diff as 'git diff --stat' prints it.")
        var stat = false

        @Flag(help: "The code diff as the names of the changed files.")
        var nameOnly = false

        @Flag(help: "Leave out the code diff.")
        var noPatch = false

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        func validate() throws {
            guard [stat, nameOnly, noPatch].filter({ $0 }).count <= 1 else {
                throw ValidationError("--stat, --name-only and --no-patch exclude one another")
            }
        }

        mutating func run() throws {
            let workspace = try Workspace()
            let comparison = try workspace.compareRuns(run1, run2, experiment: experiment)
            let diffFormat: DiffFormat = stat ? .stat : nameOnly ? .nameOnly : .patch
            let code = noPatch ? nil : try workspace.codeDiff(comparison, as: diffFormat)
            if format == .json {
                print(Terminal.json(["old": Self.json(comparison.old), "new": Self.json(comparison.new),
                                     "metrics": comparison.rows.map(Self.json),
                                     "diff_format": noPatch ? nil : diffFormat.rawValue, "diff": code]))
                return
            }
            for (label, entry) in [("RUN1", comparison.old), ("RUN2", comparison.new)] {
                let record = entry.record
                let description = record.description.isEmpty ? "" : "  \"\(UntrustedText.visible(record.description))\""
                print("\(Terminal.paint(label, .bold))  run \(UntrustedText.visible(record.run))  \(RunPrinter.statusLabel(record))  \(entry.commit.short)\(description)")
            }
            print("")
            print(Self.metricsTable(comparison).render(.table))
            guard let code else { return }
            let range = "\(comparison.old.commit.short)..\(comparison.new.commit.short)"
            print(Terminal.paint("\nchange \(range):", .bold))
            let shown = code.isEmpty ? "(no change between the two commits)" : Show.painted(UntrustedText.visible(code, multiline: true))
            print(shown, terminator: shown.hasSuffix("\n") ? "" : "\n")
        }

        /// METRIC, RUN1, RUN2, DELTA (with the relative change), and CONSTRAINT when the experiment has any.
        static func metricsTable(_ comparison: RunComparison) -> Table {
            let constrained = comparison.rows.contains { !$0.constraints.isEmpty }
            var table = Table(header: ["METRIC", "RUN1", "RUN2", "DELTA"] + (constrained ? ["CONSTRAINT"] : []))
            for row in comparison.rows {
                let show = row.kind == .duration ? Durations.format : Number.format
                var delta = row.delta.map { row.kind == .duration ? ($0 < 0 ? "-" : "+") + Durations.format(abs($0)) : Number.signed($0) } ?? "-"
                if let change = row.delta, let old = row.old, old != 0 { delta += String(format: " (%+.2f%%)", change / abs(old) * 100) }
                let constraints = constrained ? [row.constraints.joined(separator: ", ")] : []
                table.append([row.name, row.old.map(show) ?? "-", row.new.map(show) ?? "-", delta] + constraints, json: [:])
            }
            return table
        }

        static func json(_ entry: RunEntry) -> [String: Any?] {
            let record = entry.record
            return ["run": record.run, "experiment": record.experiment, "commit": entry.commit.hex, "status": record.status.rawValue,
                    "baseline": record.isBaseline, "description": record.description, "record": record.line]
        }

        /// One metric's row; absent values are left out (nested in the output, `Terminal.json` would print them as null).
        static func json(_ row: RunComparison.Row) -> [String: Any] {
            let fields: [String: Any?] = ["name": row.name, "kind": row.kind.rawValue, "old": row.old, "new": row.new, "delta": row.delta,
                                          "constraints": row.constraints.isEmpty ? nil : row.constraints]
            return fields.compactMapValues { $0 }
        }
    }
}

extension GitAutoresearch.Diff: PagedOutput {}
