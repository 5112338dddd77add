import Foundation

extension RunRecord {
    /// Every field of the record for JSON output (`docs/record.schema.json`, `$defs/record`):
    /// numbers as numbers, absent fields left out, the reported metrics and unknown fields as
    /// objects. Keys are the record's logfmt keys, but `version` for `v` and `description` for `desc`.
    public var jsonFields: [(key: String, value: JSONValue)] {
        let fields: [(String, JSONValue?)] = [
            ("version", .integer(version)), ("experiment", .string(experiment)), ("run", .string(run)), ("status", .string(status.rawValue)),
            ("metric", .string(metric)), ("value", value.map(JSONValue.number)),
            ("samples", samples.isEmpty ? nil : .array(samples.map(JSONValue.number))), ("noise", noise.map(JSONValue.number)),
            ("best_before", bestBefore.map(JSONValue.number)), ("direction", .string(direction.rawValue)), ("duration", .number(duration)),
            ("start", .string(RunRecord.timestamp(start))), ("exit", exitCode.map { .integer(Int($0)) }), ("host", .string(host)),
            ("worker", worker.map(JSONValue.integer)), ("evaluator", evaluator.map(JSONValue.string)), ("stage", stage.map(JSONValue.string)),
            ("smoke", smokeValue.map(JSONValue.number)), ("targets", targets.isEmpty ? nil : .array(targets.map(JSONValue.string))),
            ("metrics", metrics.isEmpty ? nil : .object(metricValues.map { ($0.key, .number($0.value)) })),
            ("breach", breach.map(JSONValue.string)), ("artifacts", artifacts.map(JSONValue.string)),
            ("artifacts_skipped", artifactsSkipped.map(JSONValue.string)), ("reason", reason.map(JSONValue.string)),
            ("description", .string(description)),
            ("extra", extra.isEmpty ? nil : .object(Dictionary(extra.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }).map { ($0.key, .string($0.value)) })),
        ]
        return JSONValue.present(fields)
    }
}
