import Foundation
import Git

/// Which way the metric improves.
public enum Direction: String, Sendable, CaseIterable {
    case lower, higher

    /// True when `candidate` is strictly better than `incumbent`.
    public func isBetter(_ candidate: Double, than incumbent: Double) -> Bool {
        self == .lower ? candidate < incumbent : candidate > incumbent
    }

    /// The relative change from `base` to `value`, positive when better; nil when `base` is 0.
    public func improvement(from base: Double, to value: Double) -> Double? {
        guard base != 0 else { return nil }
        let change = Number.difference(value, base) / abs(base)
        return self == .lower ? -change : change
    }
}

/// Where the metric is read from.
public enum MetricSource: Sendable, Equatable {
    /// The last stdout/stderr line `NAME: VALUE`, `NAME=VALUE` or `METRIC NAME=VALUE`.
    case output
    /// A JSON file the evaluator writes (path relative to the work tree) and a dotted key path.
    case jsonFile(path: String, key: String)
}

/// One experiment, as configured in the `[experiment "NAME"]` section of `.autoresearch`.
public struct Experiment: Sendable, Equatable {
    public var name: String
    /// The full evaluation: its command, budget and hard limit.
    public var fullStage: Stage
    public var metric: String
    public var direction: Direction
    /// Seconds between SIGTERM and SIGKILL when the evaluation is stopped.
    public var grace: Double
    public var metricSource: MetricSource
    /// Paths (globs allowed) the candidate may not change.
    public var guards: [String]
    /// The agent command `loop` runs before each evaluation (`/bin/sh -c`, at the work tree's top).
    public var agent: String?
    /// The hard limit of one agent step.
    public var agentTimeout: Double
    /// Instructions for the agent (a file in the repository).
    public var program: String?
    /// Bytes of evaluation output kept in the log; the rest is read for the metric, not stored.
    public var logLimit: Int
    /// The evaluator `init` pinned (see `GuardedPaths.fingerprint`): re-running `init` after the
    /// evaluator changed on purpose changes it, so the next run is a new baseline.
    public var evaluatorID: String?

    /// A short human name for reports (default: the experiment's name).
    public var title: String?
    /// What the experiment is for, for reports.
    public var goal: String?
    /// Evaluations of each candidate; its value is their median.
    public var repeats: Int = 1
    /// The smallest improvement over the best that counts.
    public var minDelta: Threshold?
    /// When the noise is known, a candidate must beat the best by more than this many noise widths.
    public var noiseWidths: Double = Experiment.defaultNoiseWidths
    /// `loop` re-measures the best every this many runs (0: never).
    public var recheckEvery: Int = 0
    /// Bounds on metrics: a run that breaks one is not kept.
    public var constraints: [Constraint] = []
    /// Keys the metric file must hold (dotted paths); `ok`, when present, must be `true`.
    public var requiredKeys: [String] = []
    /// A fast first stage; the full evaluation runs only when it passes.
    public var smoke: Stage?
    /// How far the smoke result may fall behind the best's smoke result and still go to the full stage.
    public var smokeMargin: Threshold?
    /// Files (globs, relative to the work tree's top) the evaluator writes, stored in git with the run.
    public var artifacts: [String] = []
    /// Options for the scheduler that runs the workers of `loop --launcher slurm` (`sbatch` options).
    public var launcherArgs: [String] = []
    /// Bytes of artifacts stored per run; files beyond it are left out, and the run says so.
    public var artifactLimit: Int = Experiment.defaultArtifactLimit
    /// The largest new or changed file a candidate may hold, in bytes (0: no limit).
    public var maxFileSize: Int = Experiment.defaultMaxFileSize
    /// The most bytes of new and changed files a candidate may hold in all (0: no limit).
    public var maxCandidateSize: Int = Experiment.defaultMaxCandidateSize
    /// Targets evaluated in this order, one evaluation each (`AUTORESEARCH_TARGET`).
    public var targets: [String] = []
    /// A file of the work tree listing the targets, one a line (`#` comments); read at each run.
    public var targetsFile: String?
    /// How the targets' values of the metric become one value.
    public var aggregate: Aggregate = .mean

    /// The evaluation command, run with `/bin/sh -c` at the work tree's top.
    public var evaluate: String {
        get { fullStage.command }
        set { fullStage.command = newValue }
    }
    /// The time the evaluation is meant to take (told to the evaluator, shown in progress).
    public var budget: Double {
        get { fullStage.budget }
        set { fullStage.budget = newValue }
    }
    /// The hard limit after which the evaluation's process group is killed; defaults to 2.5 × budget.
    public var timeout: Double {
        get { fullStage.timeout }
        set { fullStage.timeout = newValue }
    }

    /// A stage of evaluation: its command and time limits.
    public struct Stage: Sendable, Equatable {
        public var command: String
        public var budget: Double
        public var timeout: Double

        public init(command: String, budget: Double, timeout: Double? = nil) {
            self.command = command
            self.budget = budget
            self.timeout = timeout ?? budget * Experiment.timeoutFactor
        }

        /// True when the hard limit is the default one, derived from the budget.
        public var hasDerivedTimeout: Bool { timeout == budget * Experiment.timeoutFactor }

        /// Sets the budget; a derived hard limit follows it, one set on purpose stays.
        public mutating func setBudget(_ budget: Double) {
            if hasDerivedTimeout { timeout = budget * Experiment.timeoutFactor }
            self.budget = budget
        }
    }

    public static let defaultBudget = 300.0
    public static let timeoutFactor = 2.5
    public static let defaultGrace = 5.0
    public static let defaultLogLimit = 64 << 20
    public static let defaultAgentTimeout = 1800.0
    public static let defaultNoiseWidths = 2.0
    public static let defaultArtifactLimit = 10 << 20
    public static let defaultMaxFileSize = 50 << 20
    public static let defaultMaxCandidateSize = 200 << 20
    /// The largest byte count a setting may give: 1 TiB.
    public static let maximumBytes = 1 << 40

    public init(name: String, evaluate: String, metric: String, direction: Direction = .lower,
                budget: Double = Experiment.defaultBudget, timeout: Double? = nil, grace: Double = Experiment.defaultGrace,
                metricSource: MetricSource = .output, guards: [String] = [], agent: String? = nil,
                agentTimeout: Double = Experiment.defaultAgentTimeout, program: String? = nil, logLimit: Int = Experiment.defaultLogLimit) {
        self.name = name
        self.fullStage = Stage(command: evaluate, budget: budget, timeout: timeout)
        self.metric = metric
        self.direction = direction
        self.grace = grace
        self.metricSource = metricSource
        self.guards = guards
        self.agent = agent
        self.agentTimeout = agentTimeout
        self.program = program
        self.logLimit = logLimit
    }

    /// The longest experiment name: it goes into branch, ref and file names, which file systems
    /// limit to 255 bytes a component.
    public static let maxNameLength = 100

    /// Checks a name for use in branch and ref names.
    public static func validate(name: String) throws {
        guard name.count <= maxNameLength else {
            throw AutoresearchError("experiment name of \(name.count) characters is too long",
                                    hint: "use at most \(maxNameLength) characters")
        }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-"))
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII }),
              name.first!.isLetter || name.first!.isNumber, !name.contains(".."), !name.hasSuffix(".lock"),
              !name.hasSuffix(".") else {
            throw AutoresearchError("invalid experiment name '\(name)'",
                                    hint: "use letters, digits, '.', '_' and '-', starting with a letter or digit (for example: lr-sweep)")
        }
    }

    /// Checks the fields together; throws the first problem found.
    public func validate() throws {
        try Experiment.validate(name: name)
        if evaluate.trimmingCharacters(in: .whitespaces).isEmpty {
            throw AutoresearchError("experiment '\(name)' has no evaluate command", hint: "set one with --eval 'python evaluate.py'")
        }
        if metric.isEmpty || metric.contains(where: { $0.isWhitespace || $0 == ":" || $0 == "=" }) {
            throw AutoresearchError("invalid metric name '\(metric)' in experiment '\(name)'",
                                    hint: "a metric name is one word without ':' or '=', as printed by the evaluator (for example: val_bpb)")
        }
        if timeout < budget {
            throw AutoresearchError("the timeout (\(Durations.format(timeout))) of experiment '\(name)' is shorter than its budget (\(Durations.format(budget)))",
                                    hint: "leave the timeout unset (2.5 × budget) or make it at least the budget")
        }
        if let smoke, smoke.timeout < smoke.budget {
            throw AutoresearchError("the smoke timeout of experiment '\(name)' is shorter than its smoke budget", hint: "leave smokeTimeout unset (2.5 × smokeBudget) or make it at least smokeBudget")
        }
        for target in targets where !Experiment.isValidTarget(target) {
            throw AutoresearchError("invalid target '\(target)' in experiment '\(name)'", hint: "a target is one word without '/', ',', '=' or quotes")
        }
        if case .target(let named) = aggregate, targetsFile == nil, !targets.contains(named) {
            throw AutoresearchError("aggregate '\(named)' of experiment '\(name)' is neither mean, min, max nor one of its targets",
                                    hint: targets.isEmpty ? "use mean, min or max" : "targets: \(targets.joined(separator: ", "))")
        }
    }

    /// Target names go into record keys: one word, without the characters the keys use.
    static func isValidTarget(_ target: String) -> Bool {
        !target.isEmpty && !target.contains { $0.isWhitespace || "/,=\"\\".contains($0) }
    }
}

/// The experiments of a repository: the `.autoresearch` file, in git-config syntax, or
/// `.autoresearch.config` where `.autoresearch` is a directory (the autoresearch skill's folder).
public struct ExperimentFile {
    /// The file's name at the top of the work tree.
    public static let fileName = ".autoresearch"
    /// The file's name beside a `.autoresearch/` directory.
    public static let besideFolderName = ".autoresearch.config"
    /// Both names, the classic first: a commit's configuration is the first of them that is a file.
    public static let names = [fileName, besideFolderName]

    /// The name the file has, or gets, in the work tree at `root`: `.autoresearch` unless that
    /// is a directory, or is absent while `.autoresearch.config` exists.
    public static func name(inWorkTree root: String) -> String {
        var isDirectory: ObjCBool = false
        let classicExists = FileManager.default.fileExists(atPath: root + "/" + fileName, isDirectory: &isDirectory)
        if classicExists ? isDirectory.boolValue : FileManager.default.fileExists(atPath: root + "/" + besideFolderName) {
            return besideFolderName
        }
        return fileName
    }

    private let config: ConfigFile
    /// The name messages give the file: `.autoresearch` or `.autoresearch.config`.
    public let name: String

    /// Opens the file at `path` (missing: no experiments yet), called `name` in messages.
    public init(path: String, name: String = ExperimentFile.fileName) throws {
        config = try ConfigFile(path: path)
        self.name = name
    }

    /// The experiment names in the file, in file order.
    public func names() throws -> [String] {
        var seen: [String] = []
        let suffix = "." + Setting.evaluate.key
        for entry in try config.entries(matching: #"^experiment\..*\."# + Setting.evaluate.key + "$") {
            let name = String(entry.name.dropFirst("experiment.".count).dropLast(suffix.count))
            if !seen.contains(name) { seen.append(name) }
        }
        return seen
    }

    /// A value of the file that cannot be read, and the error that says how to repair it.
    struct InvalidValue {
        let setting: Setting
        let error: AutoresearchError
    }

    /// Reads one experiment; nil when the file has no section for it.
    public func experiment(named name: String) throws -> Experiment? {
        guard let (experiment, invalid) = try experimentForRepair(named: name) else { return nil }
        if let first = invalid.first { throw first.error }
        try experiment.validate()
        return experiment
    }

    /// Reads one experiment leniently, for `init` to repair it: a value that cannot be read keeps
    /// its default and is returned with its error. Nil when the file has no section for it.
    func experimentForRepair(named name: String) throws -> (experiment: Experiment, invalid: [InvalidValue])? {
        let key = { (setting: Setting) in "experiment.\(name).\(setting.key)" }
        guard let evaluate = try config.string(key(.evaluate)) else { return nil }
        guard let metric = try config.string(key(.metric)) else {
            throw AutoresearchError("no metric in \(self.name), experiment '\(name)'",
                                    hint: "git config -f \(self.name) \(key(.metric)) NAME")
        }
        try checkKeys(of: name)
        var experiment = Experiment(name: name, evaluate: evaluate, metric: metric)
        var invalid: [InvalidValue] = []
        for setting in Setting.all {
            let texts = setting.isRepeatable ? try config.strings(key(setting)) : try config.string(key(setting)).map { [$0] } ?? []
            guard !texts.isEmpty else { continue }
            do {
                try setting.assign(texts, to: &experiment, source: "\(setting.key) in \(self.name), experiment '\(name)'")
            } catch let error as AutoresearchError {
                let repair = setting.option.map { "git autoresearch init --name \(name) \($0) VALUE" }
                    ?? "git config -f \(self.name) \(key(setting)) VALUE"
                let hint = (error.hint.map { $0 + "; " } ?? "") + "repair it with: \(repair)"
                invalid.append(InvalidValue(setting: setting, error: AutoresearchError(error.message, hint: hint)))
            }
        }
        return (experiment, invalid)
    }

    /// Throws for a key of the experiment's section that no setting reads (a typo such as
    /// `budgett` would otherwise be ignored), naming the nearest known key.
    private func checkKeys(of name: String) throws {
        let prefix = "experiment.\(name)."
        let known = Set(Setting.all.map { $0.key.lowercased() })
        for entry in try config.entries(matching: #"^experiment\."#) where entry.name.hasPrefix(prefix) {
            let key = String(entry.name.dropFirst(prefix.count))
            guard !known.contains(key) else { continue }
            let nearest = Setting.nearest(to: key)
            throw AutoresearchError("unknown key '\(key)' in \(self.name), experiment '\(name)'",
                                    hint: "did you mean '\(nearest.key)'? Correct the line in \(self.name) and commit it")
        }
    }

    /// Writes an experiment's section, replacing what was there.
    public func write(_ experiment: Experiment) throws {
        for setting in Setting.all {
            let key = "experiment.\(experiment.name).\(setting.key)"
            let texts = setting.texts(experiment)
            if setting.isRepeatable {
                try config.setAll(key, texts)
            } else if let text = texts.first {
                try config.set(key, text)
            } else {
                try config.remove(key)
            }
        }
    }
}

extension Durations {
    /// The form written to the config file: whole seconds as `90s`, else milliseconds.
    static func canonical(_ seconds: Double) -> String {
        if seconds == seconds.rounded() { return String(format: "%.0fs", seconds) }
        let milliseconds = (seconds * 1000).rounded()
        return milliseconds / 1000 == seconds ? String(format: "%.0fms", milliseconds) : Number.exact(seconds) + "s"
    }
}
