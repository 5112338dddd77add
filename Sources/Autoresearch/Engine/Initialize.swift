import Foundation
import Git

/// What `init` was asked to set; nil fields keep the current value (or the default for a new experiment).
public struct ExperimentSettings: Sendable {
    public var name: String
    public var evaluate: String?
    public var metric: String?
    public var direction: Direction?
    public var budget: Double?
    public var timeout: Double?
    public var grace: Double?
    public var metricFile: String?
    public var metricKey: String?
    public var guards: [String]?
    public var agent: String?
    public var agentTimeout: Double?
    public var program: String?
    public var title: String?
    public var goal: String?
    public var repeats: Int?
    public var minDelta: String?
    public var noiseWidths: Double?
    public var recheckEvery: Int?
    public var constraints: [String]?
    public var requiredKeys: [String]?
    public var smoke: String?
    public var smokeBudget: Double?
    public var smokeTimeout: Double?
    public var smokeMargin: String?
    public var artifacts: [String]?
    public var artifactLimit: Int?
    public var targets: [String]?
    public var targetsFile: String?
    public var aggregate: String?

    public init(name: String) { self.name = name }

    /// Applies the settings to an existing experiment, or makes a new one.
    func apply(to existing: Experiment?) throws -> Experiment {
        guard var experiment = existing ?? {
            guard let evaluate, let metric else { return nil }
            return Experiment(name: name, evaluate: evaluate, metric: metric)
        }() else {
            throw AutoresearchError("a new experiment needs an evaluate command and a metric",
                                    hint: "git autoresearch init --name \(name) --eval 'python evaluate.py' --metric val_loss")
        }
        if let evaluate { experiment.evaluate = evaluate }
        if let metric { experiment.metric = metric }
        if let direction { experiment.direction = direction }
        if let budget {
            var full = experiment.fullStage
            full.setBudget(budget)
            (experiment.budget, experiment.timeout) = (full.budget, full.timeout)
        }
        if let timeout { experiment.timeout = timeout }
        if let grace { experiment.grace = grace }
        if let metricFile {
            experiment.metricSource = metricFile.isEmpty ? .output : .jsonFile(path: metricFile, key: metricKey ?? experiment.metric)
        } else if let metricKey, case .jsonFile(let path, _) = experiment.metricSource {
            experiment.metricSource = .jsonFile(path: path, key: metricKey)
        }
        if let guards { experiment.guards = guards }
        if let agent { experiment.agent = agent.isEmpty ? nil : agent }
        if let agentTimeout { experiment.agentTimeout = agentTimeout }
        if let program { experiment.program = program.isEmpty ? nil : program }
        try applyEvaluationSettings(to: &experiment)
        try experiment.validate()
        return experiment
    }
}

extension ExperimentSettings {
    /// Applies the settings of decision, staging, targets and artifacts; an empty text unsets a field.
    private func applyEvaluationSettings(to experiment: inout Experiment) throws {
        func threshold(_ text: String, _ option: String) throws -> Threshold? {
            guard !text.isEmpty else { return nil }
            guard let value = Threshold(text) else {
                throw AutoresearchError("invalid \(option) '\(text)'", hint: "give an amount (0.01) or a percentage (1%)")
            }
            return value
        }
        if let title { experiment.title = title.isEmpty ? nil : title }
        if let goal { experiment.goal = goal.isEmpty ? nil : goal }
        if let repeats { experiment.repeats = repeats }
        if let minDelta { experiment.minDelta = try threshold(minDelta, "--min-delta") }
        if let noiseWidths { experiment.noiseWidths = noiseWidths }
        if let recheckEvery { experiment.recheckEvery = recheckEvery }
        if let constraints {
            experiment.constraints = try constraints.filter { !$0.isEmpty }.map { text in
                guard let constraint = Constraint(text) else {
                    throw AutoresearchError("invalid constraint '\(text)'", hint: "write NAME OP NUMBER with OP one of <= < >= > == != (for example: 'peak_vram_mb <= 40000')")
                }
                return constraint
            }
        }
        if let requiredKeys { experiment.requiredKeys = requiredKeys.filter { !$0.isEmpty } }
        if let smoke {
            experiment.smoke = smoke.isEmpty ? nil : Experiment.Stage(command: smoke, budget: experiment.smoke?.budget ?? experiment.budget,
                                                                     timeout: experiment.smoke?.timeout)
        }
        if let smokeBudget { experiment.smoke?.setBudget(smokeBudget) }
        if let smokeTimeout { experiment.smoke?.timeout = smokeTimeout }
        if (smokeBudget != nil || smokeTimeout != nil || smokeMargin != nil), experiment.smoke == nil {
            throw AutoresearchError("--smoke-budget, --smoke-timeout and --smoke-margin need a smoke command", hint: "add --smoke 'CMD'")
        }
        if let smokeMargin { experiment.smokeMargin = try threshold(smokeMargin, "--smoke-margin") }
        if let artifacts { experiment.artifacts = artifacts.filter { !$0.isEmpty } }
        if let artifactLimit { experiment.artifactLimit = artifactLimit }
        if let targets { experiment.targets = targets.filter { !$0.isEmpty } }
        if let targetsFile { experiment.targetsFile = targetsFile.isEmpty ? nil : targetsFile }
        if let aggregate { experiment.aggregate = Aggregate(aggregate) }
    }
}

/// What `init` did.
public struct InitResult: Sendable {
    public let experiment: Experiment
    public let created: Bool
    /// The commit that records the configuration (nil when nothing changed).
    public let configCommit: OID?
    public let branch: String
    /// True when HEAD was moved to the experiment branch.
    public let switched: Bool
}

extension Workspace {
    public static let notesDisplayKey = "notes.displayRef"

    /// Creates or updates an experiment: writes its section of `.autoresearch`, commits that file
    /// alone on the current branch, creates `autoresearch/NAME` there and switches to it, and makes
    /// plain `git log` show the records. Refuses when other uncommitted changes exist.
    public func initialize(_ settings: ExperimentSettings) throws -> InitResult {
        try Experiment.validate(name: settings.name)
        let head = try repository.head()
        guard case .branch(let currentBranch, let headTarget) = head, let parentCommit = headTarget else {
            if case .detached = head {
                throw AutoresearchError("HEAD is detached", hint: "switch to the branch the experiment should start from (git switch main)")
            }
            throw AutoresearchError("the current branch has no commit yet", hint: "commit the code to optimise first (git add . && git commit)")
        }
        let branch = Refs(settings.name).branch
        let branchTarget = try repository.referenceTarget(branch)
        if branchTarget != nil, currentBranch != branch {
            throw AutoresearchError("experiment '\(settings.name)' already exists on autoresearch/\(settings.name)",
                                    hint: "to change its configuration, switch to it first: git switch autoresearch/\(settings.name)")
        }
        let others = try repository.status().filter { $0.path != ExperimentFile.fileName }
        if !others.isEmpty {
            throw AutoresearchError("uncommitted changes: \(Self.listPaths(others.map(\.path)))",
                                    hint: "commit them first (the evaluator must be committed to be part of the experiment), or stash them")
        }

        let file = try ExperimentFile(path: experimentFilePath)
        let existing = try file.experiment(named: settings.name)
        var experiment = try settings.apply(to: existing)
        let parentTree = try repository.commit(parentCommit).tree
        // Pin the evaluator as committed now: when it changes on purpose, init again changes this.
        experiment.evaluatorID = try GuardedPaths(experiment, tree: parentTree, repository: repository).fingerprint(repository: repository)
        try file.write(experiment)

        let blob = try repository.createBlob(Array(try Data(contentsOf: URL(fileURLWithPath: experimentFilePath))))
        let tree = try repository.writeTree(base: parentTree, path: [ExperimentFile.fileName], entry: (blob, .blob))!
        var configCommit: OID?
        if tree != parentTree {
            let verb = existing == nil ? "configure" : "reconfigure"
            let commit = try repository.createCommit(tree: tree, parents: [parentCommit],
                                                     message: "autoresearch: \(verb) experiment \(settings.name)\n")
            try repository.setReference(currentBranch, to: commit, expecting: .value(parentCommit),
                                        message: "autoresearch: \(verb) experiment \(settings.name)")
            try repository.stage(path: ExperimentFile.fileName)
            configCommit = commit
        }
        let startCommit = configCommit ?? parentCommit
        if branchTarget == nil {
            try repository.setReference(branch, to: startCommit, expecting: .absent, message: "autoresearch: create experiment \(settings.name)")
        }
        let switched = currentBranch != branch
        if switched { try repository.setHead(toBranch: branch) }
        try showRecordsInGitLog()
        return InitResult(experiment: experiment, created: existing == nil, configCommit: configCommit,
                          branch: branch.fullName, switched: switched)
    }

    /// Adds `refs/notes/autoresearch` to `notes.displayRef` in the repository's config, once.
    func showRecordsInGitLog() throws {
        let config = try ConfigFile(path: repository.commonDirectory + "config")
        let current = try config.strings(Self.notesDisplayKey)
        if !current.contains(Refs.notes.fullName) && !current.contains("refs/notes/*") {
            try config.setAll(Self.notesDisplayKey, current + [Refs.notes.fullName])
        }
    }
}
