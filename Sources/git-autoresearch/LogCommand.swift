import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an experiment's runs: run, commit, status, metric, delta, duration, description.",
            discussion: "Reads the ledger index (.git/autoresearch/ledger-index), brought up to date with the notes; with --limit (-n), only the newest runs' records are read, from the index's end. --format tsv, csv, markdown or json for scripts and reports: tsv and csv hold full commit hashes, exact numbers and durations in seconds (--human: the table's text); json holds every field of each record (docs/record.schema.json).")

        @OptionGroup var target: ExperimentOption

        @Option(help: ArgumentHelp("Only runs with these statuses: comma-separated or repeated; baseline or any status a run records.", valueName: "status"))
        var status: [String] = []

        @Flag(help: "With --format tsv or csv: the table's text (short hashes, 81ms, +0.0155) instead of exact values.")
        var human = false

        @Option(name: [.customShort("n"), .long], help: "At most this many runs: the latest by time, the best by metric.")
        var limit: Int?

        @Option(help: "Order: time (oldest first) or metric (best first; runs without a value last).")
        var sort: Order = .time

        @Option(help: "Output: table, tsv, csv, markdown or json.")
        var format: TableFormat = .table

        /// Refuses an unknown status as a usage error.
        func validate() throws {
            do { _ = try StatusFilter(parsing: status) } catch let error as AutoresearchError {
                throw ValidationError(error.message + (error.hint.map { "; \($0)" } ?? ""))
            }
        }

        enum Order: String, ExpressibleByArgument, CaseIterable { case time, metric }

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            // By time, only the newest `limit` records are read.
            let filter = status.isEmpty ? nil : try StatusFilter(parsing: status)
            let listed = try workspace.runsWithSuspects(experiment: name, status: filter, latest: sort == .time ? limit : nil)
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
                let shownStatus = record.isBaseline ? "baseline" : record.status.rawValue
                let exact = !human && (format == .tsv || format == .csv)
                let cells = exact
                    ? [record.run, run.commit.hex, shownStatus, record.value.map { Number.exact($0) } ?? "", record.delta.map { Number.exact($0) } ?? "",
                       String(format: "%.3f", record.duration), record.description]
                    : [record.run, run.commit.short, shownStatus + (older ? "*" : "") + (suspect != nil ? "!" : ""),
                       record.value.map(Number.format) ?? "-", record.delta.map(Number.signed) ?? "-", Durations.format(record.duration), record.description]
                // Every field, built only when printed.
                var json: [String: Any?] = [:]
                if format == .json {
                    json = record.jsonFields
                    json.merge(["commit": run.commit.hex, "baseline": record.isBaseline, "delta": record.delta,
                                "older_evaluator": older, "suspect": suspect]) { _, new in new }
                }
                table.append(cells, json: json)
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
