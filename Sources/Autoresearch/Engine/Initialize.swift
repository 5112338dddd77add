import Foundation
import Git

/// What `init` was asked to set: texts per setting, as `init`'s flags give them. A setting not
/// given keeps its value (or its default, for a new experiment); an empty text unsets it.
public struct ExperimentSettings: Sendable {
    public var name: String
    /// The texts given, by setting key.
    private var texts: [String: [String]] = [:]

    public init(name: String) { self.name = name }

    /// Sets `setting` to `texts` (several for a repeatable setting); none leaves it as it is.
    public mutating func set(_ setting: Setting, _ texts: [String]) {
        self.texts[setting.key] = texts.isEmpty ? nil : texts
    }

    /// Sets `setting` to `text`; nil leaves it as it is.
    public mutating func set(_ setting: Setting, _ text: String?) {
        set(setting, text.map { [$0] } ?? [])
    }

    /// True when `setting` was given.
    func sets(_ setting: Setting) -> Bool { texts[setting.key] != nil }

    /// Applies the settings to an existing experiment, or makes a new one.
    func apply(to existing: Experiment?) throws -> Experiment {
        guard var experiment = existing ?? {
            guard let evaluate = texts[Setting.evaluate.key]?.last, let metric = texts[Setting.metric.key]?.last else { return nil }
            return Experiment(name: name, evaluate: evaluate, metric: metric)
        }() else {
            throw AutoresearchError("a new experiment needs an evaluate command and a metric",
                                    hint: "git autoresearch init --name \(name) --eval 'python evaluate.py' --metric val_loss")
        }
        for setting in Setting.all {
            guard let texts = texts[setting.key] else { continue }
            try setting.assign(texts, to: &experiment, source: setting.option ?? setting.key)
        }
        try checkRequirements(of: experiment)
        try experiment.validate()
        return experiment
    }

    /// Refuses a setting given without the one it needs (`--smoke-budget` without a smoke command).
    private func checkRequirements(of experiment: Experiment) throws {
        for required in Set(Setting.all.filter { texts[$0.key] != nil }.compactMap(\.requires)) {
            guard let needed = Setting.named(required), needed.texts(experiment).isEmpty else { continue }
            let dependents = Setting.all.filter { $0.requires == required }.compactMap(\.option)
            throw AutoresearchError("\(dependents.joined(separator: ", ")) need \(needed.option ?? needed.key)",
                                    hint: "add \(needed.option ?? needed.key) too")
        }
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
                throw AutoresearchError("HEAD is detached", hint: "switch to the branch the experiment should start from (git switch \(defaultBranch()))")
            }
            throw AutoresearchError("the current branch has no commit yet", hint: "commit the code to optimise first (git add . && git commit)")
        }
        let branch = Refs(settings.name).branch
        let branchTarget = try repository.referenceTarget(branch)
        if branchTarget != nil, currentBranch != branch {
            throw AutoresearchError("experiment '\(settings.name)' already exists on autoresearch/\(settings.name)",
                                    hint: "to change its configuration, switch to it first: git switch autoresearch/\(settings.name)")
        }
        let outputs = toolOutputs()
        let fileName = experimentFileName
        let others = try repository.status().filter { $0.path != fileName && !outputs.contains($0.path) }
        if !others.isEmpty {
            throw AutoresearchError("uncommitted changes: \(Self.listPaths(others.map(\.path)))",
                                    hint: "commit them first (the evaluator must be committed to be part of the experiment), or stash them")
        }

        let file = try ExperimentFile(path: experimentFilePath, name: fileName)
        // Read leniently, so that init repairs a value it cannot read; one left unrepaired is an error.
        let stored = try file.experimentForRepair(named: settings.name)
        let existing = stored?.experiment
        var experiment = try settings.apply(to: existing)
        if let unrepaired = stored?.invalid.first(where: { !settings.sets($0.setting) }) { throw unrepaired.error }
        let parentTree = try repository.commit(parentCommit).tree
        // Pin the evaluator as committed now: when it changes on purpose, init again changes this.
        experiment.evaluatorID = try GuardedPaths(experiment, tree: parentTree, repository: repository).fingerprint(repository: repository)
        try file.write(experiment)

        let blob = try repository.createBlob(Array(try Data(contentsOf: URL(fileURLWithPath: experimentFilePath))))
        let tree = try repository.writeTree(base: parentTree, path: [fileName], entry: (blob, .blob))!
        var configCommit: OID?
        if tree != parentTree {
            let verb = existing == nil ? "configure" : "reconfigure"
            let commit = try repository.createCommit(tree: tree, parents: [parentCommit],
                                                     message: "autoresearch: \(verb) experiment \(settings.name)\n")
            try repository.setReference(currentBranch, to: commit, expecting: .value(parentCommit),
                                        message: "autoresearch: \(verb) experiment \(settings.name)")
            try repository.stage(path: fileName)
            configCommit = commit
        }
        let startCommit = configCommit ?? parentCommit
        if branchTarget == nil {
            try repository.setReference(branch, to: startCommit, expecting: .absent, message: "autoresearch: create experiment \(settings.name)")
            try? rememberBaseBranch(currentBranch, experiment: settings.name)
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
