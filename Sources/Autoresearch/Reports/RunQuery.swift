import Foundation

/// Which runs `log` lists beyond the experiment and status: a time range, a pattern in the
/// description, hosts, workers and conditions on values, all of them ANDed. Checked on the
/// ledger index's fields (`IndexedRecord`): only a condition on a secondary metric parses the record.
public struct RunQuery {
    /// Only runs started at or after this date.
    public var since: Date?
    /// Only runs started at or before this date.
    public var until: Date?
    /// Only runs whose description this matches.
    public var grep: NSRegularExpression?
    /// Only runs recorded by one of these hosts (empty: any).
    public var hosts: [String] = []
    /// Only runs of one of these parallel workers (empty: any).
    public var workers: [Int] = []
    /// Only runs meeting every one of these.
    public var conditions: [RunCondition] = []

    public init() {}

    /// Sets `grep` to `pattern`: a regular expression, or the text itself when it is none; `ignoreCase` as git's `-i`.
    public mutating func setGrep(_ pattern: String, ignoreCase: Bool) {
        let options: NSRegularExpression.Options = ignoreCase ? [.caseInsensitive] : []
        grep = (try? NSRegularExpression(pattern: pattern, options: options))
            ?? (try? NSRegularExpression(pattern: NSRegularExpression.escapedPattern(for: pattern), options: options))
    }

    /// Whether a run started at `start` (seconds since the reference date, as the index keeps it) is in the time range.
    func inTimeRange(_ start: Double) -> Bool {
        (since.map { start >= $0.timeIntervalSinceReferenceDate } ?? true) && (until.map { start <= $0.timeIntervalSinceReferenceDate } ?? true)
    }

    /// Whether `record` matches every part of the query.
    public func matches(_ record: IndexedRecord) -> Bool {
        guard inTimeRange(record.startSeconds),
              hosts.isEmpty || hosts.contains(record.host),
              workers.isEmpty || record.worker.map(workers.contains) == true else { return false }
        if let grep {
            let description = record.description
            guard grep.firstMatch(in: description, range: NSRange(description.startIndex..., in: description)) != nil else { return false }
        }
        return conditions.allSatisfy { $0.holds(for: record) }
    }
}

/// `FIELD OP NUMBER` on a run (`m.val_acc > 0.9`): FIELD is `value` (the primary metric),
/// `duration` (seconds) or `m.NAME` (a secondary metric); OP one of `< <= > >= == !=`. A run
/// without the field does not meet it.
public struct RunCondition: Sendable {
    let field: String
    let comparison: Constraint.Comparison
    let bound: Double

    /// Reads a condition; throws an error saying what is accepted when `text` is none.
    public init(parsing text: String) throws {
        let hint = "write FIELD OP NUMBER, e.g. 'm.val_acc > 0.9', 'value <= 1.2' or 'duration < 300': FIELD is value, duration or m.NAME; OP one of < <= > >= == !="
        guard let parsed = Constraint(text) else { throw AutoresearchError("cannot read '\(text)' as a condition", hint: hint) }
        guard parsed.metric == "value" || parsed.metric == "duration"
                || (parsed.metric.hasPrefix(RunRecord.metricPrefix) && parsed.metric.count > RunRecord.metricPrefix.count) else {
            throw AutoresearchError("unknown field '\(parsed.metric)' in '\(text)'", hint: hint)
        }
        field = parsed.metric
        comparison = parsed.comparison
        bound = parsed.bound
    }

    func holds(for record: IndexedRecord) -> Bool {
        let value: Double?
        switch field {
        case "value": value = record.value
        case "duration": value = record.duration
        default: value = record.record.metricValues[String(field.dropFirst(RunRecord.metricPrefix.count))]
        }
        return value.map { comparison.holds($0, bound) } ?? false
    }
}
