import Autoresearch
import Foundation

/// A column of `log`'s table, TSV, CSV and Markdown: a field of the record, named as in the
/// record (`host`, `worker`, `reason`, …) or `m.NAME` for a secondary metric. The fields the
/// ledger index keeps are read from it; the others parse the record (`IndexedRecord.record`).
struct LogColumn {
    let header: String
    /// The cell of a run in `style`.
    let cell: (_ run: IndexedRecord, _ style: Style) -> String

    /// How cells are written: for people (short hashes, rounded numbers, `81ms`, `-` when none,
    /// `marks` after the status: `*` older evaluator, `!` suspect) or exact, for scripts (full
    /// hashes, numbers that read back, seconds, empty when none, no marks).
    struct Style {
        var marks = ""
        var exact = false

        func number(_ value: Double?) -> String { value.map(exact ? { Number.exact($0) } : Number.format) ?? (exact ? "" : "-") }
        func signed(_ value: Double?) -> String { value.map(exact ? { Number.exact($0) } : Number.signed) ?? (exact ? "" : "-") }
    }

    /// The columns without `--columns`; `host` comes before the description when the runs listed come from several hosts.
    static let defaults = ["run", "commit", "status", "value", "delta", "duration", "description"]

    static let fields = ["run", "commit", "status", "value", "delta", "duration", "description", "host", "worker", "start",
                         "reason", "evaluator", "best_before", "exit", "noise", "stage", "smoke", "breach", "artifacts", "experiment", "metric"]

    /// The column `name` stands for; `metric` is the primary metric's name, the header of `value`.
    init(_ name: String, metric: String) throws {
        header = name == "value" ? metric.uppercased() : name.uppercased()
        if name.hasPrefix(RunRecord.metricPrefix), name.count > RunRecord.metricPrefix.count {
            let metricName = String(name.dropFirst(RunRecord.metricPrefix.count))
            cell = { run, style in style.number(run.record.metricValues[metricName]) }
            return
        }
        guard let field = Self.field(name) else {
            throw AutoresearchError("unknown column '\(name)'", hint: "columns: \(Self.fields.joined(separator: ", ")), or m.NAME for a secondary metric")
        }
        cell = field
    }

    private static func field(_ name: String) -> ((IndexedRecord, Style) -> String)? {
        switch name {
        case "run": return { run, _ in run.run }
        case "commit": return { run, style in style.exact ? run.commit.hex : run.commit.short }
        case "status": return { run, style in (run.isBaseline ? "baseline" : run.status.rawValue) + (style.exact ? "" : style.marks) }
        case "value": return { run, style in style.number(run.value) }
        case "delta": return { run, style in style.signed(run.delta) }
        case "duration": return { run, style in style.exact ? Number.seconds(run.duration) : Durations.format(run.duration) }
        case "description": return { run, _ in run.description }
        case "host": return { run, _ in run.host }
        case "worker": return { run, style in run.worker.map(String.init) ?? (style.exact ? "" : "-") }
        case "start": return { run, _ in RunRecord.timestamp(run.start) }
        case "reason": return { run, _ in run.record.reason ?? "" }
        case "evaluator": return { run, _ in run.evaluator ?? "" }
        case "best_before": return { run, style in style.number(run.bestBefore) }
        case "exit": return { run, style in run.record.exitCode.map(String.init) ?? (style.exact ? "" : "-") }
        case "noise": return { run, style in style.number(run.record.noise) }
        case "stage": return { run, _ in run.record.stage ?? "" }
        case "smoke": return { run, style in style.number(run.record.smokeValue) }
        case "breach": return { run, _ in run.record.breach ?? "" }
        case "artifacts": return { run, _ in run.record.artifacts ?? "" }
        case "experiment": return { run, _ in run.experiment }
        case "metric": return { run, _ in run.record.metric }
        default: return nil
        }
    }

    /// The columns `--columns` names (comma-separated, repeatable), or the defaults with `host`
    /// when `runs` come from more than one host.
    static func resolve(_ requested: [String], runs: [IndexedRecord], metric: String) throws -> [LogColumn] {
        var names = requested.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        if names.isEmpty {
            names = defaults
            if Set(runs.map(\.host)).count > 1 { names.insert("host", at: names.count - 1) }
        }
        return try names.map { try LogColumn($0, metric: metric) }
    }
}
