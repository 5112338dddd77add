import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log",
            abstract: "List an experiment's runs: run, commit, status, metric, delta, duration, description.",
            discussion: "Reads the ledger index (.git/autoresearch/ledger-index), brought up to date with the notes; with --limit (-n), only the newest runs' entries are read, from the index's end. Filters and the columns the index keeps (run, commit, status, value, delta, duration, description, host, worker, start, evaluator, best_before, experiment) are read from its entries; the other columns, --where on m.NAME and --format json parse the records. --format tsv, csv, markdown or json for scripts and reports: tsv and csv hold full commit hashes, exact numbers and durations in seconds (--human: the table's text); json holds every field of each record (docs/record.schema.json). Filters (--since, --until, --grep, --host, --worker, --where) are ANDed and applied while the index is read; --where takes FIELD OP NUMBER (FIELD: value, duration or m.NAME; OP: < <= > >= == !=). --since/--until take git's dates: 2026-11-30, '2026-11-30 14:00', 2026-11-30T14:00:00Z, @SECONDS, now, today, yesterday, 2.hours.ago, '3 days ago', yesterday.noon.")

        @OptionGroup var target: ExperimentOption

        @Option(help: ArgumentHelp("Only runs with these statuses: comma-separated or repeated; baseline or any status a run records.", valueName: "status"))
        var status: [String] = []

        @Flag(help: "With --format tsv or csv: the table's text (short hashes, 81ms, +0.0155) instead of exact values.")
        var human = false

        @Option(help: "Only runs started at or after this date (git's formats: 2026-11-30, '2026-11-30 14:00', 2.hours.ago, yesterday).")
        var since: String?

        @Option(help: "Only runs started at or before this date (the same formats).")
        var until: String?

        @Option(help: "Only runs whose description matches this regular expression (or text).")
        var grep: String?

        @Flag(name: [.customShort("i"), .customLong("regexp-ignore-case")], help: "--grep ignores case.")
        var ignoreCase = false

        @Option(help: "Only runs recorded on this host (repeatable: any of them).")
        var host: [String] = []

        @Option(help: "Only runs of this parallel worker (repeatable: any of them).")
        var worker: [Int] = []

        @Option(name: .customLong("where"), help: ArgumentHelp("Only runs meeting FIELD OP NUMBER ('m.val_acc > 0.9', 'value <= 1.2', 'duration < 300'); repeatable, all must hold.", valueName: "condition"))
        var conditions: [String] = []

        @Option(name: [.customShort("n"), .long], help: "At most this many runs: the latest by time, the best by metric.")
        var limit: Int?

        @Flag(help: "Print the runs in the opposite order.")
        var reverse = false

        @Option(help: ArgumentHelp("The columns of the table, tsv, csv and markdown, comma-separated: run, commit, status, value, delta, duration, description, host, worker, start, reason, evaluator, best_before, exit, noise, stage, smoke, breach, artifacts, experiment, metric, m.NAME.", valueName: "columns"))
        var columns: [String] = []

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
            let listed = try workspace.runsWithSuspects(experiment: name, status: filter, query: try query(), latest: sort == .time ? limit : nil)
            var runs = listed.runs
            let suspects = listed.suspects
            let experiment = try workspace.experiment(named: name)
            if sort == .metric {
                let direction = experiment.direction
                runs.sort { a, b in
                    switch (a.value, b.value) {
                    case let (x?, y?): return direction.isBetter(x, than: y)
                    case (.some, nil): return true
                    default: return false
                    }
                }
                if let limit { runs = Array(runs.prefix(limit)) }
            }
            if reverse { runs.reverse() }
            let shown = try LogColumn.resolve(columns, runs: runs, metric: runs.first?.record.metric ?? experiment.metric)
            var table = Table(header: shown.map(\.header))
            var olderEvaluator = false
            for run in runs {
                let suspect = suspects[run.run]
                // Measured with another evaluator than the current one: not comparable.
                let older = run.evaluator != nil && experiment.evaluatorID != nil && run.evaluator != experiment.evaluatorID
                olderEvaluator = olderEvaluator || older
                let style = LogColumn.Style(marks: (older ? "*" : "") + (suspect != nil ? "!" : ""), exact: !human && (format == .tsv || format == .csv))
                guard format == .json else {
                    table.append(shown.map { $0.cell(run, style) }, json: [:])
                    continue
                }
                // Every field, built only when printed.
                let added: [(String, JSONValue?)] = [("commit", .string(run.commit.hex)), ("baseline", .bool(run.isBaseline)),
                                                     ("delta", run.delta.map(JSONValue.number)), ("older_evaluator", .bool(older)),
                                                     ("suspect", suspect.map(JSONValue.string))]
                table.append([], fields: run.recordOnce.jsonFields + JSONValue.present(added))
            }
            print(table.render(format))
            if olderEvaluator, format == .table {
                print(Terminal.paint("* measured with an older evaluator (the guarded paths changed since): not comparable with the others", .dim))
            }
            if !suspects.isEmpty, format == .table {
                print(Terminal.paint("! suspect: ignored when finding the best (see 'git autoresearch status'; docs/security.md)", .dim))
            }
        }

        /// The filters given, or nil when there are none.
        func query() throws -> RunQuery? {
            var query = RunQuery()
            query.since = try since.map { try ApproxDate.parse($0) }
            query.until = try until.map { try ApproxDate.parse($0) }
            if let grep { query.setGrep(grep, ignoreCase: ignoreCase) }
            query.hosts = host
            query.workers = worker
            query.conditions = try conditions.map(RunCondition.init(parsing:))
            let filtered = since != nil || until != nil || grep != nil || !host.isEmpty || !worker.isEmpty || !conditions.isEmpty
            return filtered ? query : nil
        }
    }
}

extension RunStatus: ExpressibleByArgument {}
