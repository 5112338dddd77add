import Foundation

/// How the text of a setting becomes a value and back.
struct SettingFormat<Value>: Sendable {
    /// What a text of this format is, for errors: "invalid duration '5x' for budget".
    let noun: String
    /// The value of a text; throws an `AutoresearchError` whose hint says what is expected.
    let parse: @Sendable (String) throws -> Value
    let format: @Sendable (Value) -> String

    init(noun: String, parse: @escaping @Sendable (String) throws -> Value, format: @escaping @Sendable (Value) -> String) {
        (self.noun, self.parse, self.format) = (noun, parse, format)
    }

    /// A format whose parser gives nil for a text it cannot read; `hint` says what is expected.
    init(noun: String, hint: String, parse: @escaping @Sendable (String) -> Value?, format: @escaping @Sendable (Value) -> String) {
        self.init(noun: noun, parse: { text in
            guard let value = parse(text) else { throw AutoresearchError("invalid \(noun)", hint: hint) }
            return value
        }, format: format)
    }

    /// Reads `text`, or throws `InvalidSettingText`.
    func value(of text: String) throws -> Value {
        do { return try parse(text) } catch let error as AutoresearchError {
            throw InvalidSettingText(noun: noun, text: text, hint: error.hint)
        }
    }
}

extension SettingFormat where Value == String {
    static var text: Self { Self(noun: "text", parse: { $0 }, format: { $0 }) }

    /// A path or glob of the work tree, relative to its top: no `..`, nothing absolute (`ContainedPath`).
    static var workTreePath: Self {
        Self(noun: "path", parse: { text in
            if let problem = ContainedPath.problem(text) {
                throw AutoresearchError("invalid path", hint: "\(problem); give a path relative to the top of the work tree (for example out/metrics.json)")
            }
            return text
        }, format: { $0 })
    }
}

extension SettingFormat where Value == Double {
    static var duration: Self { Self(noun: "duration", parse: Durations.parse, format: Durations.canonical) }

    /// A finite decimal (`DecimalNumber`) within `range`.
    static func number(hint: String, in range: ClosedRange<Double>) -> Self {
        Self(noun: "number", hint: hint, parse: { DecimalNumber.finite($0).flatMap { range.contains($0) ? $0 : nil } }, format: { Number.exact($0) })
    }
}

extension SettingFormat where Value == Int {
    /// A whole number in decimal digits (no exponent, no fraction) within `range`.
    static func count(hint: String, in range: ClosedRange<Int>) -> Self {
        Self(noun: "number", hint: hint, parse: { Int($0).flatMap { range.contains($0) ? $0 : nil } }, format: String.init)
    }

    /// Bytes, from `minimum` to 1 TiB.
    static func bytes(atLeast minimum: Int = 0) -> Self {
        count(hint: "give a number of bytes from \(minimum) to \(Experiment.maximumBytes) (1 TiB)", in: minimum...Experiment.maximumBytes)
    }
}

extension SettingFormat where Value == Threshold {
    static func threshold(hint: String) -> Self {
        Self(noun: "threshold", hint: hint, parse: Threshold.init, format: \.description)
    }
}

extension SettingFormat where Value == Direction {
    static var direction: Self {
        Self(noun: "direction", hint: "use " + Direction.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or "),
             parse: Direction.init(rawValue:), format: \.rawValue)
    }
}

extension SettingFormat where Value == Constraint {
    static var constraint: Self {
        Self(noun: "constraint", hint: "write NAME OP NUMBER with OP one of <= < >= > == != (for example: 'peak_vram_mb <= 40000')",
             parse: Constraint.init, format: \.description)
    }
}

extension SettingFormat where Value == Aggregate {
    static var aggregate: Self { Self(noun: "aggregate", parse: Aggregate.init, format: \.description) }
}

/// A text a setting cannot read; the reader names the setting and where the text came from.
struct InvalidSettingText: Error {
    let noun: String
    let text: String
    let hint: String?
}

/// One key of an experiment's section of `.autoresearch`: how it is read, written and set by
/// `init`, its default, and whether it defines the measurement. `Setting.all` is the table
/// everything reads: the file, `init`'s flags, `definesSameMeasurement(as:)` and the docs.
public struct Setting: Sendable {
    /// The key in `[experiment "NAME"]`.
    public let key: String
    /// `init`'s long flag, without dashes; nil when `init` does not set it.
    public let flag: String?
    /// What the setting does, for `init --help` and the docs.
    public let help: String
    /// The default, as the docs show it; nil when unset by default.
    public let defaultDescription: String?
    /// True when changing it makes values measured before incomparable: the next run is a new baseline.
    public let definesMeasurement: Bool
    /// True when the key may appear several times (a list); `init`'s flag is then repeatable.
    public let isRepeatable: Bool
    /// The only texts `init` accepts, when the setting is one of a few words.
    public let choices: [String]?
    /// The key of the setting this one needs set (a smoke budget needs a smoke command).
    let requires: String?
    /// Sets the value from its texts: one text (empty unsets), or a repeatable setting's list.
    let assign: @Sendable (inout Experiment, [String]) throws -> Void
    /// The texts the file holds for the value; none when the key is absent (unset or the default).
    let texts: @Sendable (Experiment) -> [String]

    /// The flag as typed, `--min-delta`.
    public var option: String? { flag.map { "--" + $0 } }

    /// Sets the value from `texts`; a bad text is an error naming `source` (the key and file, or the flag).
    func assign(_ texts: [String], to experiment: inout Experiment, source: String) throws {
        do { try assign(&experiment, texts) } catch let invalid as InvalidSettingText {
            throw AutoresearchError("invalid \(invalid.noun) '\(invalid.text)' for \(source)", hint: invalid.hint)
        }
    }

    /// The setting with `key` in the table.
    static func named(_ key: String) -> Setting? { all.first { $0.key == key } }

    /// The setting whose key is the fewest edits away from `key` (letter case ignored): the one
    /// a typo meant.
    static func nearest(to key: String) -> Setting {
        all.min { editDistance($0.key.lowercased(), key.lowercased()) < editDistance($1.key.lowercased(), key.lowercased()) }!
    }

    /// Levenshtein distance: the insertions, deletions and substitutions that turn `a` into `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension Setting {
    /// A value every experiment has; the file omits it when it equals `default` (nil: always written).
    static func value<Value: Equatable & Sendable>(_ key: String, flag: String?, _ path: WritableKeyPath<Experiment, Value> & Sendable,
                                                  _ format: SettingFormat<Value>, default: Value? = nil, defaultDescription: String? = nil,
                                                  definesMeasurement: Bool, choices: [String]? = nil, help: String) -> Setting {
        Setting(key: key, flag: flag, help: help, defaultDescription: defaultDescription ?? `default`.map(format.format),
                definesMeasurement: definesMeasurement, isRepeatable: false, choices: choices, requires: nil,
                assign: { experiment, texts in experiment[keyPath: path] = try format.value(of: texts.last ?? "") },
                texts: { experiment in
                    let value = experiment[keyPath: path]
                    return value == `default` ? [] : [format.format(value)]
                })
    }

    /// A value an experiment may leave unset; an empty text unsets it.
    static func optional<Value>(_ key: String, flag: String?, _ path: WritableKeyPath<Experiment, Value?> & Sendable,
                                _ format: SettingFormat<Value>, definesMeasurement: Bool, requires: String? = nil, help: String) -> Setting {
        Setting(key: key, flag: flag, help: help, defaultDescription: nil, definesMeasurement: definesMeasurement,
                isRepeatable: false, choices: nil, requires: requires,
                assign: { experiment, texts in
                    let text = texts.last ?? ""
                    experiment[keyPath: path] = text.isEmpty ? nil : try format.value(of: text)
                },
                texts: { experiment in experiment[keyPath: path].map { [format.format($0)] } ?? [] })
    }

    /// A list, one key per element; empty texts are left out, so `init --flag ''` clears it.
    static func list<Value>(_ key: String, flag: String, _ path: WritableKeyPath<Experiment, [Value]> & Sendable,
                            _ format: SettingFormat<Value>, definesMeasurement: Bool, help: String) -> Setting {
        Setting(key: key, flag: flag, help: help, defaultDescription: nil, definesMeasurement: definesMeasurement,
                isRepeatable: true, choices: nil, requires: nil,
                assign: { experiment, texts in
                    experiment[keyPath: path] = try texts.filter { !$0.isEmpty }.map { try format.value(of: storableListElement($0, noun: format.noun)) }
                },
                texts: { experiment in experiment[keyPath: path].map(format.format) })
    }

    /// `text`, when the file can hold it as one of several values: libgit2 writes a list's values
    /// without escaping, so a `\` or a control character would not read back.
    private static func storableListElement(_ text: String, noun: String) throws -> String {
        guard !text.contains(where: { $0 == "\\" || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) else {
            throw InvalidSettingText(noun: noun, text: text, hint: "a value of a list cannot hold '\\' or a control character")
        }
        return text
    }

    /// A duration with its own rules for reading and writing (the time limits of the stages).
    static func duration(_ key: String, flag: String, defaultDescription: String, definesMeasurement: Bool, requires: String? = nil,
                         help: String, assign: @escaping @Sendable (inout Experiment, Double) -> Void,
                         written: @escaping @Sendable (Experiment) -> Double?) -> Setting {
        Setting(key: key, flag: flag, help: help, defaultDescription: defaultDescription, definesMeasurement: definesMeasurement,
                isRepeatable: false, choices: nil, requires: requires,
                assign: { experiment, texts in assign(&experiment, try SettingFormat.duration.value(of: texts.last ?? "")) },
                texts: { experiment in written(experiment).map { [Durations.canonical($0)] } ?? [] })
    }
}

extension Setting {
    public static let evaluate = value("evaluate", flag: "eval", \.evaluate, .text, definesMeasurement: true,
                                       help: "Evaluation command, run with /bin/sh -c at the top of the work tree.")
    public static let metric = value("metric", flag: "metric", \.metric, .text, definesMeasurement: true,
                                     help: "Metric name, as printed by the evaluator ('NAME: VALUE' or 'NAME=VALUE').")
    public static let direction = value("direction", flag: "direction", \.direction, .direction, defaultDescription: Direction.lower.rawValue,
                                        definesMeasurement: true, choices: Direction.allCases.map(\.rawValue),
                                        help: "Which way is better: lower or higher.")
    public static let budget = duration("budget", flag: "budget", defaultDescription: Durations.format(Experiment.defaultBudget),
                                        definesMeasurement: true,
                                        help: "Time the evaluation is meant to take, e.g. 90s, 5m, 1h.",
                                        assign: { $0.fullStage.setBudget($1) }, written: \.budget)
    public static let timeout = duration("timeout", flag: "timeout", defaultDescription: "2.5 × budget", definesMeasurement: false,
                                         help: "Hard limit after which the evaluation's process group is killed.",
                                         assign: { $0.timeout = $1 }, written: { $0.fullStage.hasDerivedTimeout ? nil : $0.timeout })
    public static let grace = value("grace", flag: "grace", \.grace, .duration, default: Experiment.defaultGrace, definesMeasurement: false,
                                    help: "Time between SIGTERM and SIGKILL when the evaluation is stopped.")
    public static let metricFile = Setting(
        key: "metricFile", flag: "metric-file",
        help: "Read the metric from this JSON file (relative to the top of the work tree) instead of the output.",
        defaultDescription: nil, definesMeasurement: true, isRepeatable: false, choices: nil, requires: nil,
        assign: { experiment, texts in
            let path = texts.last ?? ""
            experiment.metricSource = path.isEmpty ? .output : .jsonFile(path: try SettingFormat.workTreePath.value(of: path), key: experiment.metric)
        },
        texts: { experiment in
            guard case .jsonFile(let path, _) = experiment.metricSource else { return [] }
            return [path]
        })
    public static let metricKey = Setting(
        key: "metricKey", flag: "metric-key", help: "Dotted key path of the metric in the metric file.",
        defaultDescription: "the metric name", definesMeasurement: true, isRepeatable: false, choices: nil, requires: nil,
        assign: { experiment, texts in
            guard case .jsonFile(let path, _) = experiment.metricSource, let key = texts.last, !key.isEmpty else { return }
            experiment.metricSource = .jsonFile(path: path, key: key)
        },
        texts: { experiment in
            guard case .jsonFile(_, let key) = experiment.metricSource, key != experiment.metric else { return [] }
            return [key]
        })
    public static let guards = list("guard", flag: "guard", \.guards, .workTreePath, definesMeasurement: true,
                                    help: "Paths or globs the agent may not change: with .autoresearch, the evaluator.")
    public static let agent = optional("agent", flag: "agent", \.agent, .text, definesMeasurement: false,
                                       help: "Agent command that 'loop' runs before each evaluation to change the work tree (see docs/agents.md).")
    public static let agentTimeout = value("agentTimeout", flag: "agent-timeout", \.agentTimeout, .duration,
                                           default: Experiment.defaultAgentTimeout, defaultDescription: Durations.format(Experiment.defaultAgentTimeout),
                                           definesMeasurement: false, help: "Hard limit of one agent step.")
    public static let program = optional("program", flag: "program", \.program, .workTreePath, definesMeasurement: false,
                                         help: "Instructions file for the agent (a file in the repository).")
    public static let logLimit = value("logLimit", flag: nil, \.logLimit, .bytes(atLeast: 4096),
                                       default: Experiment.defaultLogLimit, definesMeasurement: false,
                                       help: "Bytes of evaluation output kept in the log; the rest is read for the metric, not stored.")
    public static let evaluator = optional("evaluator", flag: nil, \.evaluatorID, .text, definesMeasurement: true,
                                           help: "The fingerprint of the guarded files `init` pinned: set again by each `init`.")
    public static let title = optional("title", flag: "title", \.title, .text, definesMeasurement: false,
                                       help: "A human name for the experiment, shown by 'report'.")
    public static let goal = optional("goal", flag: "goal", \.goal, .text, definesMeasurement: false,
                                      help: "What the experiment is for, shown by 'report'.")
}

extension Setting {
    public static let repeats = value("repeats", flag: "repeats", \.repeats,
                                      .count(hint: "give a number of evaluations per candidate, 1 to 1000", in: 1...1000), default: 1, definesMeasurement: true,
                                      help: "Evaluations per candidate; its value is their median, and the baseline's spread is the noise.")
    public static let minDelta = optional("minDelta", flag: "min-delta", \.minDelta,
                                          .threshold(hint: "give an amount (0.01) or a percentage of the best (1%)"), definesMeasurement: false,
                                          help: "Smallest improvement over the best that counts: an amount (0.01) or a percentage of the best (1%).")
    public static let noiseWidths = value("noiseWidths", flag: "noise-widths", \.noiseWidths,
                                          .number(hint: "give a number of noise widths from 0 to 1000, such as 2", in: 0...1000), default: Experiment.defaultNoiseWidths,
                                          definesMeasurement: false,
                                          help: "When the noise is known, keep only a candidate better than the best by more than this many noise widths.")
    public static let recheckEvery = value("recheckEvery", flag: "recheck-every", \.recheckEvery,
                                           .count(hint: "give a number of runs from 0 (never) to 1000000", in: 0...1_000_000), default: 0,
                                           defaultDescription: "0, never", definesMeasurement: false,
                                           help: "'loop' measures the best again every N runs, so it is not a lucky draw.")
    public static let constraints = list("constraint", flag: "constraint", \.constraints, .constraint, definesMeasurement: true,
                                         help: "A bound a run must meet to be kept, on any metric it reports: 'peak_vram_mb <= 40000' (<= < >= > == !=).")
    public static let requiredKeys = list("require", flag: "require", \.requiredKeys, .text, definesMeasurement: true,
                                          help: "A key the metric file must hold, dotted (counts.samples); 'ok', when present, must be true.")
    public static let smoke = Setting(
        key: "smoke", flag: "smoke",
        help: "A fast first stage: the full evaluation runs only when it passes (AUTORESEARCH_STAGE=smoke, then full).",
        defaultDescription: nil, definesMeasurement: true, isRepeatable: false, choices: nil, requires: nil,
        assign: { experiment, texts in
            let command = texts.last ?? ""
            experiment.smoke = command.isEmpty ? nil : Experiment.Stage(command: command, budget: experiment.smoke?.budget ?? experiment.budget,
                                                                        timeout: experiment.smoke?.timeout)
        },
        texts: { experiment in experiment.smoke.map { [$0.command] } ?? [] })
    public static let smokeBudget = duration("smokeBudget", flag: "smoke-budget", defaultDescription: "the budget", definesMeasurement: true,
                                             requires: smoke.key, help: "Time the smoke stage is meant to take.",
                                             assign: { $0.smoke?.setBudget($1) },
                                             written: { experiment in experiment.smoke.flatMap { $0.budget == experiment.budget ? nil : $0.budget } })
    public static let smokeTimeout = duration("smokeTimeout", flag: "smoke-timeout", defaultDescription: "2.5 × smoke budget",
                                              definesMeasurement: false, requires: smoke.key, help: "Hard limit of the smoke stage.",
                                              assign: { $0.smoke?.timeout = $1 },
                                              written: { $0.smoke.flatMap { $0.hasDerivedTimeout ? nil : $0.timeout } })
    public static let smokeMargin = optional("smokeMargin", flag: "smoke-margin", \.smokeMargin,
                                             .threshold(hint: "give an amount (0.05) or a percentage of the best's smoke result (5%)"),
                                             definesMeasurement: false, requires: smoke.key,
                                             help: "Skip the full stage when the smoke result falls behind the best's smoke result by more than this (0.05 or 5%).")
    public static let artifacts = list("artifact", flag: "artifact", \.artifacts, .workTreePath, definesMeasurement: false,
                                       help: "Files the evaluator writes to store with each run: a path, a directory, or a glob ('*' also matches '/').")
    public static let artifactLimit = value("artifactLimit", flag: "artifact-limit", \.artifactLimit,
                                            .bytes(), default: Experiment.defaultArtifactLimit,
                                            definesMeasurement: false, help: "Bytes of artifacts stored per run.")
    public static let maxFileSize = value("maxFileSize", flag: "max-file-size", \.maxFileSize,
                                          .bytes(), default: Experiment.defaultMaxFileSize,
                                          defaultDescription: "\(Experiment.defaultMaxFileSize) (50 MiB)", definesMeasurement: false,
                                          help: "Bytes a new or changed file of a candidate may have; a bigger one rejects the candidate before anything is committed (0: no limit).")
    public static let maxCandidateSize = value("maxCandidateSize", flag: "max-candidate-size", \.maxCandidateSize,
                                               .bytes(), default: Experiment.defaultMaxCandidateSize,
                                               defaultDescription: "\(Experiment.defaultMaxCandidateSize) (200 MiB)", definesMeasurement: false,
                                               help: "Bytes of new and changed files a candidate may hold in all; more rejects it before anything is committed (0: no limit).")
    public static let targets = list("target", flag: "target", \.targets, .text, definesMeasurement: true,
                                     help: "A target evaluated in order, one evaluation each with AUTORESEARCH_TARGET set.")
    public static let targetsFile = optional("targetsFile", flag: "targets-file", \.targetsFile, .workTreePath, definesMeasurement: true,
                                             help: "A file of the work tree listing the targets, one a line ('#' comments), read at each run (like benchmarks.txt); guarded.")
    public static let launcherArgs = list("launcherArgs", flag: "launcher-arg", \.launcherArgs, .text, definesMeasurement: false,
                                          help: "An sbatch option for each worker of 'loop --launcher slurm', with its value: '--gres=gpu:1', '--partition=gpu'.")
    public static let aggregate = value("aggregate", flag: "aggregate", \.aggregate, .aggregate, default: .mean, definesMeasurement: true,
                                        help: "How the targets' values become the metric: mean, min, max, or a target's name.")

    /// Every setting, in the order the file is written and read: a setting read later may
    /// depend on one read before (the metric key on the metric file, the smoke budget on the budget).
    public static let all: [Setting] = [
        evaluate, metric, direction, budget, timeout, grace, metricFile, metricKey, guards, agent, agentTimeout, program, logLimit,
        evaluator, title, goal, repeats, minDelta, noiseWidths, recheckEvery, constraints, requiredKeys, smoke, smokeBudget,
        smokeTimeout, smokeMargin, artifacts, artifactLimit, maxFileSize, maxCandidateSize, targets, targetsFile, aggregate,
        launcherArgs,
    ]
}

extension Setting {
    /// `init`'s help for the flag: what it does, its default, and whether it repeats.
    public var flagHelp: String {
        let notes = [defaultDescription.map { "default: \($0)" }, isRepeatable ? "repeatable; '' clears" : nil].compactMap { $0 }
        guard !notes.isEmpty else { return help }
        return (help.hasSuffix(".") ? String(help.dropLast()) : help) + " (\(notes.joined(separator: "; ")))."
    }

    /// The settings table of the docs, one row per setting, in `all`'s order.
    public static func markdownTable() -> String {
        let rows = all.map { setting in
            let cells = [
                "`\(setting.key)`",
                setting.option.map { "`\($0)`" + (setting.isRepeatable ? " (repeatable)" : "") } ?? "",
                setting.defaultDescription ?? "",
                setting.definesMeasurement ? "yes" : "",
                setting.help.replacingOccurrences(of: "|", with: "\\|"),
            ]
            return "| " + cells.joined(separator: " | ") + " |"
        }
        return (["| Key | `init` flag | Default | New baseline | Meaning |", "|---|---|---|---|---|"] + rows).joined(separator: "\n") + "\n"
    }
}

extension Experiment {
    /// True when `other` has the same settings that define the measurement, so values measured
    /// under one compare with values measured under the other.
    public func definesSameMeasurement(as other: Experiment) -> Bool {
        Setting.all.allSatisfy { !$0.definesMeasurement || $0.texts(self) == $0.texts(other) }
    }
}
