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
        let change = (value - base) / abs(base)
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
    /// The evaluation command, run with `/bin/sh -c` at the work tree's top.
    public var evaluate: String
    public var metric: String
    public var direction: Direction
    /// The time the evaluation is meant to take (told to the evaluator, shown in progress).
    public var budget: Double
    /// The hard limit after which the evaluation's process group is killed; defaults to 2.5 × budget.
    public var timeout: Double
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
    /// Bytes of artifacts stored per run; files beyond it are left out, and the run says so.
    public var artifactLimit: Int = Experiment.defaultArtifactLimit
    /// Targets evaluated in this order, one evaluation each (`AUTORESEARCH_TARGET`).
    public var targets: [String] = []
    /// A file of the work tree listing the targets, one a line (`#` comments); read at each run.
    public var targetsFile: String?
    /// How the targets' values of the metric become one value.
    public var aggregate: Aggregate = .mean

    /// The full evaluation as a stage: the evaluate command, its budget and hard limit.
    public var fullStage: Stage { Stage(command: evaluate, budget: budget, timeout: timeout) }

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

    public init(name: String, evaluate: String, metric: String, direction: Direction = .lower,
                budget: Double = Experiment.defaultBudget, timeout: Double? = nil, grace: Double = Experiment.defaultGrace,
                metricSource: MetricSource = .output, guards: [String] = [], agent: String? = nil,
                agentTimeout: Double = Experiment.defaultAgentTimeout, program: String? = nil, logLimit: Int = Experiment.defaultLogLimit) {
        self.name = name
        self.evaluate = evaluate
        self.metric = metric
        self.direction = direction
        self.budget = budget
        self.timeout = timeout ?? budget * Experiment.timeoutFactor
        self.grace = grace
        self.metricSource = metricSource
        self.guards = guards
        self.agent = agent
        self.agentTimeout = agentTimeout
        self.program = program
        self.logLimit = logLimit
    }

    /// Checks a name for use in branch and ref names.
    public static func validate(name: String) throws {
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
        if logLimit < 4096 {
            throw AutoresearchError("log limit \(logLimit) of experiment '\(name)' is too small", hint: "use at least 4096 bytes")
        }
        if repeats < 1 || repeats > 1000 {
            throw AutoresearchError("repeats \(repeats) of experiment '\(name)' is out of range", hint: "use 1 to 1000 evaluations per candidate")
        }
        if !noiseWidths.isFinite || noiseWidths < 0 {
            throw AutoresearchError("noise widths \(noiseWidths) of experiment '\(name)' must be a number ≥ 0", hint: "2 keeps a candidate only when it beats the best by more than twice the noise")
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

/// The experiments of a repository: the `.autoresearch` file, in git-config syntax.
public struct ExperimentFile {
    /// The file's name at the top of the work tree.
    public static let fileName = ".autoresearch"

    private let config: ConfigFile

    /// Opens the file at `path` (missing: no experiments yet).
    public init(path: String) throws {
        config = try ConfigFile(path: path)
    }

    /// The experiment names in the file, in file order.
    public func names() throws -> [String] {
        var seen: [String] = []
        for entry in try config.entries(matching: #"^experiment\..*\.evaluate$"#) {
            let name = String(entry.name.dropFirst("experiment.".count).dropLast(".evaluate".count))
            if !seen.contains(name) { seen.append(name) }
        }
        return seen
    }

    /// Reads one experiment; nil when the file has no section for it.
    public func experiment(named name: String) throws -> Experiment? {
        let key = { (field: String) in "experiment.\(name).\(field)" }
        guard let evaluate = try config.string(key("evaluate")) else { return nil }
        let where_ = "in \(ExperimentFile.fileName), experiment '\(name)'"
        guard let metric = try config.string(key("metric")) else {
            throw AutoresearchError("no metric \(where_)", hint: "git config -f \(ExperimentFile.fileName) experiment.\(name).metric NAME")
        }
        let directionText = try config.string(key("direction")) ?? Direction.lower.rawValue
        guard let direction = Direction(rawValue: directionText) else {
            throw AutoresearchError("invalid direction '\(directionText)' \(where_)", hint: "use 'lower' or 'higher'")
        }
        func duration(_ field: String) throws -> Double? {
            guard let text = try config.string(key(field)) else { return nil }
            do { return try Durations.parse(text) } catch let error as AutoresearchError {
                throw AutoresearchError("\(error.message) for \(field) \(where_)", hint: error.hint)
            }
        }
        var source = MetricSource.output
        if let file = try config.string(key("metricFile")) {
            source = .jsonFile(path: file, key: try config.string(key("metricKey")) ?? metric)
        }
        /// A field read with `parse`; nil when unset, an error naming the field and `expected` when unreadable.
        func parsed<T>(_ field: String, _ expected: String, _ parse: (String) -> T?) throws -> T? {
            guard let text = try config.string(key(field)) else { return nil }
            guard let value = parse(text) else { throw AutoresearchError("invalid \(field) '\(text)' \(where_)", hint: expected) }
            return value
        }
        let logLimit = try parsed("logLimit", "give a number of bytes") { Int($0) } ?? Experiment.defaultLogLimit
        let budget = try duration("budget") ?? Experiment.defaultBudget
        var experiment = Experiment(
            name: name, evaluate: evaluate, metric: metric, direction: direction, budget: budget,
            timeout: try duration("timeout"), grace: try duration("grace") ?? Experiment.defaultGrace,
            metricSource: source, guards: try config.strings(key("guard")),
            agent: try config.string(key("agent")),
            agentTimeout: try duration("agentTimeout") ?? Experiment.defaultAgentTimeout, program: try config.string(key("program")), logLimit: logLimit)
        experiment.evaluatorID = try config.string(key("evaluator"))
        experiment.title = try config.string(key("title"))
        experiment.goal = try config.string(key("goal"))
        experiment.repeats = try parsed("repeats", "give a number of evaluations per candidate, 1 or more") { Int($0) } ?? 1
        experiment.minDelta = try parsed("minDelta", "give an amount (0.01) or a percentage of the best (1%)", Threshold.init)
        experiment.noiseWidths = try parsed("noiseWidths", "give a number of noise widths, such as 2") { Double($0) } ?? Experiment.defaultNoiseWidths
        experiment.recheckEvery = try parsed("recheckEvery", "give a number of runs (0: never)") { Int($0).flatMap { $0 >= 0 ? $0 : nil } } ?? 0
        experiment.constraints = try config.strings(key("constraint")).map { text in
            guard let constraint = Constraint(text) else {
                throw AutoresearchError("invalid constraint '\(text)' \(where_)", hint: "write NAME OP NUMBER with OP one of <= < >= > == != (for example: peak_vram_mb <= 40000)")
            }
            return constraint
        }
        experiment.requiredKeys = try config.strings(key("require"))
        if let smoke = try config.string(key("smoke")) {
            experiment.smoke = Experiment.Stage(command: smoke, budget: try duration("smokeBudget") ?? budget, timeout: try duration("smokeTimeout"))
        }
        experiment.smokeMargin = try parsed("smokeMargin", "give an amount (0.05) or a percentage of the best's smoke result (5%)", Threshold.init)
        experiment.artifacts = try config.strings(key("artifact"))
        experiment.artifactLimit = try parsed("artifactLimit", "give a number of bytes") { Int($0).flatMap { $0 >= 0 ? $0 : nil } } ?? Experiment.defaultArtifactLimit
        experiment.targets = try config.strings(key("target"))
        experiment.targetsFile = try config.string(key("targetsFile"))
        experiment.aggregate = try config.string(key("aggregate")).map(Aggregate.init) ?? .mean
        try experiment.validate()
        return experiment
    }

    /// Writes an experiment's section, replacing what was there.
    public func write(_ experiment: Experiment) throws {
        let key = { (field: String) in "experiment.\(experiment.name).\(field)" }
        try config.set(key("evaluate"), experiment.evaluate)
        try config.set(key("metric"), experiment.metric)
        try config.set(key("direction"), experiment.direction.rawValue)
        try config.set(key("budget"), Durations.canonical(experiment.budget))
        if experiment.fullStage.hasDerivedTimeout {
            try config.remove(key("timeout"))
        } else {
            try config.set(key("timeout"), Durations.canonical(experiment.timeout))
        }
        try setOptional(key("grace"), experiment.grace == Experiment.defaultGrace ? nil : Durations.canonical(experiment.grace))
        switch experiment.metricSource {
        case .output:
            try config.remove(key("metricFile"))
            try config.remove(key("metricKey"))
        case .jsonFile(let path, let jsonKey):
            try config.set(key("metricFile"), path)
            try setOptional(key("metricKey"), jsonKey == experiment.metric ? nil : jsonKey)
        }
        try config.setAll(key("guard"), experiment.guards)
        try setOptional(key("agent"), experiment.agent)
        try setOptional(key("agentTimeout"), experiment.agentTimeout == Experiment.defaultAgentTimeout
            ? nil : Durations.canonical(experiment.agentTimeout))
        try setOptional(key("program"), experiment.program)
        try setOptional(key("logLimit"), experiment.logLimit == Experiment.defaultLogLimit ? nil : String(experiment.logLimit))
        try setOptional(key("evaluator"), experiment.evaluatorID)
        try setOptional(key("title"), experiment.title)
        try setOptional(key("goal"), experiment.goal)
        try setOptional(key("repeats"), experiment.repeats == 1 ? nil : String(experiment.repeats))
        try setOptional(key("minDelta"), experiment.minDelta?.description)
        try setOptional(key("noiseWidths"), experiment.noiseWidths == Experiment.defaultNoiseWidths ? nil : Number.format(experiment.noiseWidths))
        try setOptional(key("recheckEvery"), experiment.recheckEvery == 0 ? nil : String(experiment.recheckEvery))
        try config.setAll(key("constraint"), experiment.constraints.map(\.description))
        try config.setAll(key("require"), experiment.requiredKeys)
        try setOptional(key("smoke"), experiment.smoke?.command)
        try setOptional(key("smokeBudget"), experiment.smoke.flatMap { $0.budget == experiment.budget ? nil : Durations.canonical($0.budget) })
        try setOptional(key("smokeTimeout"), experiment.smoke.flatMap { $0.hasDerivedTimeout ? nil : Durations.canonical($0.timeout) })
        try setOptional(key("smokeMargin"), experiment.smokeMargin?.description)
        try config.setAll(key("artifact"), experiment.artifacts)
        try setOptional(key("artifactLimit"), experiment.artifactLimit == Experiment.defaultArtifactLimit ? nil : String(experiment.artifactLimit))
        try config.setAll(key("target"), experiment.targets)
        try setOptional(key("targetsFile"), experiment.targetsFile)
        try setOptional(key("aggregate"), experiment.aggregate == .mean ? nil : experiment.aggregate.description)
    }

    private func setOptional(_ key: String, _ value: String?) throws {
        if let value { try config.set(key, value) } else { try config.remove(key) }
    }
}

extension Durations {
    /// The form written to the config file: whole seconds as `90s`, else milliseconds.
    static func canonical(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(Int((seconds * 1000).rounded()))ms"
    }
}
