import Foundation

/// The `config.cfg` of an experiment set up by the autoresearch skill
/// (`.autoresearch/DOMAIN/NAME/config.cfg`): `key: value` lines, read as the skill's runner reads
/// them (split at the first `:`, both sides trimmed). The file is untrusted: it must be a small
/// UTF-8 text, every line that is not blank or a `#` comment must be `key: value`, and each value
/// must be one the experiment accepts.
public struct SkillConfig: Sendable, Equatable {
    /// A `config.cfg` larger than this is not one.
    public static let sizeLimit = 64 << 10

    /// The values by key; a repeated key keeps its last value, as the skill's runner does.
    public let values: [String: String]
    /// Where the file was read from, for messages.
    public let source: String

    /// Parses the text of a `config.cfg` read from `source`.
    public init(text: String, source: String) throws {
        var values: [String: String] = [:]
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw AutoresearchError("line \(offset + 1) of \(source) is not 'key: value': '\(UntrustedText.visible(String(trimmed.prefix(60))))'",
                                        hint: "the skill's config.cfg has lines like 'evaluate_cmd: python evaluate.py'")
            }
            values[trimmed[..<colon].trimmingCharacters(in: .whitespaces)] = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.values = values
        self.source = source
    }

    /// Reads the `config.cfg` at `path` (or the `config.cfg` in the directory `path`).
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? (path as NSString).appendingPathComponent("config.cfg") : path
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? nil
        guard let size else {
            throw AutoresearchError("cannot read \(file)", hint: "give the skill's experiment folder or its config.cfg, e.g. .autoresearch/engineering/api-speed")
        }
        guard size <= Self.sizeLimit, let data = FileManager.default.contents(atPath: file),
              let text = String(data: data, encoding: .utf8), !text.contains("\0") else {
            throw AutoresearchError("\(file) is not a config.cfg: \(size > Self.sizeLimit ? "larger than \(Self.sizeLimit) bytes" : "not UTF-8 text")",
                                    hint: "give the skill's config.cfg")
        }
        try self.init(text: text, source: file)
    }

    /// The experiment name the skill's folder suggests: the folder holding `config.cfg`.
    public static func defaultName(forPath path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        return (url.lastPathComponent == "config.cfg" ? url.deletingLastPathComponent() : url).lastPathComponent
    }

    /// The metric name the evaluator prints: `metric_grep` without its `^` and trailing `:`
    /// (the skill's runner matches lines starting with it), else `metric`.
    var printedMetric: String? {
        if let grep = values["metric_grep"] {
            var name = Substring(grep)
            if name.hasPrefix("^") { name = name.dropFirst() }
            name = Substring(name.trimmingCharacters(in: .whitespaces))
            if name.hasSuffix(":") { name = name.dropLast() }
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { return trimmed }
        }
        return values["metric"]
    }

    /// The settings of the experiment the file describes: `evaluate_cmd` → evaluate, the name
    /// `metric_grep` matches (else `metric`) → metric, `metric_direction` → direction,
    /// `time_budget_minutes` → budget (the skill's hard limit, 2.5 × the budget, is the default
    /// timeout), `target` → goal; then the settings `given` (on the command line) over them.
    /// Throws, naming the key, for an unusable value, or a missing one that is not given.
    public func settings(name: String, overriddenBy given: [(setting: Setting, texts: [String])] = []) throws -> ExperimentSettings {
        var settings = ExperimentSettings(name: name)
        let givenKeys = Set(given.filter { !$0.texts.isEmpty }.map(\.setting.key))
        let evaluate = values["evaluate_cmd"].flatMap { $0.isEmpty ? nil : $0 }
        if evaluate == nil, !givenKeys.contains(Setting.evaluate.key) { throw missing("evaluate_cmd", example: "evaluate_cmd: python evaluate.py") }
        if printedMetric == nil, !givenKeys.contains(Setting.metric.key) { throw missing("metric", example: "metric: p50_ms") }
        settings.set(.evaluate, evaluate)
        settings.set(.metric, printedMetric)
        if let direction = values["metric_direction"] {
            guard Direction(rawValue: direction) != nil else {
                throw AutoresearchError("metric_direction in \(source) is '\(UntrustedText.visible(direction))', not lower or higher",
                                        hint: "correct the line to 'metric_direction: lower' or 'metric_direction: higher'")
            }
            settings.set(.direction, direction)
        }
        if let minutes = values["time_budget_minutes"] {
            guard let value = DecimalNumber.finite(minutes), value > 0, value <= Durations.range.upperBound / 60 else {
                throw AutoresearchError("time_budget_minutes in \(source) is '\(UntrustedText.visible(minutes))', not a number of minutes",
                                        hint: "correct the line, e.g. 'time_budget_minutes: 5'")
            }
            settings.set(.budget, Durations.canonical(value * 60))
        }
        if let target = values["target"], !target.isEmpty {
            settings.set(.goal, "improve \(values["metric"] ?? printedMetric ?? "the metric") by changing \(target) (from the autoresearch skill)")
        }
        for (setting, texts) in given where !texts.isEmpty { settings.set(setting, texts) }
        return settings
    }

    private func missing(_ key: String, example: String) -> AutoresearchError {
        AutoresearchError("\(source) has no \(key)", hint: "add a line like '\(example)', or give the setting to init with its flag")
    }
}
