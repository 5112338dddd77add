import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an experiment's runs: run, commit, status, metric, delta, duration, description.",
            discussion: "Reads the ledger index (.git/autoresearch/ledger-index), brought up to date with the notes; with --limit (-n), only the newest runs' records are read, from the index's end. --format tsv, csv, markdown or json for scripts and reports.")

        @OptionGroup var target: ExperimentOption

        @Option(help: "Only runs with this status.")
        var status: RunStatus?

        @Option(name: [.customShort("n"), .long], help: "At most this many runs: the latest by time, the best by metric.")
        var limit: Int?

        @Option(help: "Order: time (oldest first) or metric (best first; runs without a value last).")
        var sort: Order = .time

        @Option(help: "Output: table, tsv, csv, markdown or json.")
        var format: TableFormat = .table

        enum Order: String, ExpressibleByArgument, CaseIterable { case time, metric }

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            // By time, only the newest `limit` records are read.
            let listed = try workspace.runsWithSuspects(experiment: name, status: status, latest: sort == .time ? limit : nil)
            var runs = listed.runs
            let suspects = listed.suspects
            let experiment = try workspace.experiment(named: name)
            if sort == .metric {
                let direction = experiment.direction
                runs.sort { a, b in
                    switch (a.record.value, b.record.value) {
                    case let (x?, y?): return direction.isBetter(x, than: y)
                    case (.some, nil): return true
                    default: return false
                    }
                }
                if let limit { runs = Array(runs.prefix(limit)) }
            }
            var table = Table(header: ["RUN", "COMMIT", "STATUS", runs.first?.record.metric.uppercased() ?? "METRIC", "DELTA", "DURATION", "DESCRIPTION"])
            var olderEvaluator = false
            for run in runs {
                let record = run.record
                let suspect = suspects[record.run]
                // Measured with another evaluator than the current one: not comparable.
                let older = record.evaluator != nil && experiment.evaluatorID != nil && record.evaluator != experiment.evaluatorID
                olderEvaluator = olderEvaluator || older
                table.append([record.run, run.commit.short, (record.isBaseline ? "baseline" : record.status.rawValue) + (older ? "*" : "") + (suspect != nil ? "!" : ""),
                              record.value.map(Number.format) ?? "-", record.delta.map(Number.signed) ?? "-",
                              Durations.format(record.duration), record.description],
                             json: ["run": record.run, "commit": run.commit.hex, "status": record.status.rawValue,
                                    "baseline": record.isBaseline, "metric": record.metric, "value": record.value,
                                    "best_before": record.bestBefore, "delta": record.delta, "duration": record.duration,
                                    "start": RunRecord.timestamp(record.start), "host": record.host, "worker": record.worker, "reason": record.reason,
                                    "description": record.description, "evaluator": record.evaluator, "older_evaluator": older, "suspect": suspect])
            }
            print(table.render(format))
            if olderEvaluator, format == .table {
                print(Terminal.paint("* measured with an older evaluator (the guarded paths changed since): not comparable with the others", .dim))
            }
            if !suspects.isEmpty, format == .table {
                print(Terminal.paint("! suspect: ignored when finding the best (see 'git autoresearch status'; docs/security.md)", .dim))
            }
        }
    }
}

extension RunStatus: ExpressibleByArgument {}
