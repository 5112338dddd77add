import Foundation

extension RunRecord {
    /// Every field of the record for JSON output (`docs/record.schema.json`, `$defs/record`):
    /// numbers as numbers, absent fields as nil, the reported metrics and unknown fields as
    /// objects. Keys are the record's logfmt keys, but `version` for `v` and `description` for `desc`.
    public var jsonFields: [String: Any?] {
        [
            "version": version, "experiment": experiment, "run": run, "status": status.rawValue, "metric": metric,
            "value": value, "samples": samples.isEmpty ? nil : samples, "noise": noise, "best_before": bestBefore,
            "direction": direction.rawValue, "duration": duration, "start": RunRecord.timestamp(start),
            "exit": exitCode.map { Int($0) }, "host": host, "worker": worker, "evaluator": evaluator, "stage": stage,
            "smoke": smokeValue, "targets": targets.isEmpty ? nil : targets,
            "metrics": metrics.isEmpty ? nil : metricValues, "breach": breach, "artifacts": artifacts,
            "artifacts_skipped": artifactsSkipped, "reason": reason, "description": description,
            "extra": extra.isEmpty ? nil : Dictionary(extra.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }),
        ]
    }
}
