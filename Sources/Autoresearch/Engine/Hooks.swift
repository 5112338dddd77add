import Foundation
import Git

/// The guard for commits made outside the tool (`git commit` by a person or an agent): the
/// pre-commit hook, its installation, and the check it runs.
public enum Hooks {
    /// The pre-commit hook, as shipped in `hooks/pre-commit`.
    public static let preCommit = """
    #!/bin/sh
    # git-autoresearch pre-commit hook: refuses a commit on an experiment branch (autoresearch/*,
    # or a parallel worker's autoresearch-workers/*) that changes a guarded path (the evaluator,
    # .autoresearch, the experiment's guards).
    # Installed by 'git autoresearch install-hooks', which keeps the hook it replaced as
    # pre-commit.before-autoresearch and runs it first.
    hooks=$(dirname "$0")
    if [ -x "$hooks/pre-commit.before-autoresearch" ]; then
      "$hooks/pre-commit.before-autoresearch" "$@" || exit $?
    fi
    branch=$(git symbolic-ref -q HEAD) || exit 0
    case "$branch" in
      refs/heads/autoresearch/*|refs/heads/autoresearch-workers/*) ;;
      *) exit 0 ;;
    esac
    if ! command -v git-autoresearch >/dev/null 2>&1; then
      echo "pre-commit: git-autoresearch is not on PATH, so guarded paths are not checked" >&2
      exit 0
    fi
    exec git-autoresearch guard --staged

    """

    /// Where the pre-commit hook of a hook replaced by `install` is kept and chained to.
    public static let chainedName = "pre-commit.before-autoresearch"
    static let marker = "git-autoresearch pre-commit hook"

    /// The environment variable that lets a guarded change through (logged).
    public static let overrideVariable = "AUTORESEARCH_ALLOW_GUARDED"
}

/// What `install-hooks` did.
public struct HookInstallation: Sendable {
    public let path: String
    /// The hook that was there before, now chained to; nil when there was none or it was ours.
    public let chained: String?
    public let updated: Bool
}

extension Workspace {
    /// The hooks directory git uses: `core.hooksPath` (relative to the top of the work tree), or
    /// `hooks` in the common git directory.
    public func hooksDirectory() throws -> String {
        guard let configured = try repository.configValue("core.hooksPath") else { return repository.commonDirectory + "hooks" }
        let expanded = configured.hasPrefix("~/") ? NSHomeDirectory() + configured.dropFirst(1) : configured
        return expanded.hasPrefix("/") ? expanded : root + "/" + expanded
    }

    /// Installs the pre-commit hook. A pre-commit hook that is not ours is kept as
    /// `pre-commit.before-autoresearch` and run first by ours; ours is replaced by the current version.
    public func installHooks() throws -> HookInstallation {
        let directory = try hooksDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/pre-commit", chainedPath = directory + "/" + Hooks.chainedName
        var chained: String?
        var updated = false
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            if existing.contains(Hooks.marker) {
                updated = true
            } else {
                guard !FileManager.default.fileExists(atPath: chainedPath) else {
                    throw AutoresearchError("\(path) is not git-autoresearch's hook, and \(chainedPath) exists already",
                                            hint: "merge the two hooks by hand into \(Hooks.chainedName), remove \(path), then run install-hooks again")
                }
                try FileManager.default.moveItem(atPath: path, toPath: chainedPath)
                chained = chainedPath
            }
        }
        try Hooks.preCommit.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return HookInstallation(path: path, chained: chained, updated: updated)
    }

    /// What `guard` found: the experiment of the branch HEAD is on (its own, or a worker's), and the guarded paths the
    /// staged tree (the index, or the one in `GIT_INDEX_FILE`) or HEAD's tree changes against the best commit. Nil when HEAD is not on an
    /// experiment branch or the experiment has no best commit yet.
    public func guardViolations(staged: Bool) throws -> (experiment: String, paths: [String])? {
        guard case .branch(let branch, let tip?) = try repository.head(), let name = Refs.experiment(ofBranch: branch) else { return nil }
        guard let best = try ledger.best(experiment: name, from: tip) else { return nil }
        let bestTree = try repository.commit(best.commit).tree
        // `git commit -a` and `git commit PATH` stage into a temporary index named in GIT_INDEX_FILE.
        let indexFile = ProcessInfo.processInfo.environment["GIT_INDEX_FILE"]
        let checked = staged ? try repository.indexTree(indexFile: indexFile) : try repository.commit(tip).tree
        let experiment = try context(name).configuration(at: best.commit)
        let paths = try GuardedPaths(experiment, tree: bestTree, repository: repository).violations(candidate: checked, repository: repository)
        return (name, paths)
    }

    /// Notes a guarded change let through with the override variable, in
    /// `.git/autoresearch/guard-overrides.log`.
    public func logGuardOverride(experiment: String, paths: [String]) throws {
        let path = LocalState.guardOverridesLog(repository)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let line = "\(RunRecord.timestamp(Date())) experiment=\(experiment) user=\(NSUserName()) paths=\(paths.joined(separator: ","))\n"
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            handle.closeFile()
        } else {
            try line.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}

/// What `rebase` did.
public struct EvaluatorUpdate: Sendable {
    /// The guarded paths taken from the source revision.
    public let paths: [String]
    public let commit: OID
}

extension Workspace {
    /// Takes the guarded paths (the evaluator, the guards; not `.autoresearch`) of `revision` into
    /// the experiment branch as one commit that also pins the new evaluator in `.autoresearch`,
    /// so the next run measures a new baseline. The way to change the evaluator on purpose: edit
    /// it on the main branch, then `rebase` the experiment onto it.
    public func takeEvaluator(experiment name: String, from revision: String) throws -> EvaluatorUpdate {
        let branch = Refs(name).branch
        guard case .branch(branch, let tip?) = try repository.head() else {
            throw AutoresearchError("HEAD is not on autoresearch/\(name)", hint: "git switch autoresearch/\(name), then run this again")
        }
        guard try repository.status().isEmpty else {
            throw AutoresearchError("the work tree has uncommitted changes", hint: "commit or stash them first (git stash -u)")
        }
        guard let source = try repository.resolveCommit(revision) else {
            throw AutoresearchError("no commit '\(revision)'", hint: "name the branch or commit that holds the new evaluator, e.g. \(defaultBranch(experiment: name))")
        }
        var experiment = try context(name).configuration(at: tip)
        let tipTree = try repository.commit(tip).tree, sourceTree = try repository.commit(source).tree
        let guarded = try GuardedPaths(experiment, tree: sourceTree, repository: repository)
        let paths = try repository.changedPaths(from: tipTree, to: sourceTree)
            .filter { !ExperimentFile.names.contains($0) && guarded.covers($0) }
        guard !paths.isEmpty else {
            throw AutoresearchError("the guarded paths of '\(name)' are the same on \(revision): nothing to take",
                                    hint: "commit the new evaluator on \(revision) first")
        }
        var tree = tipTree
        for path in paths {
            let entry = try repository.entry(inTree: sourceTree, path: path)
            tree = try repository.writeTree(base: tree, path: path.split(separator: "/").map(String.init),
                                            entry: entry.map { ($0.id, $0.mode) }) ?? (try repository.emptyTree())
        }
        experiment.evaluatorID = try GuardedPaths(experiment, tree: tree, repository: repository).fingerprint(repository: repository)
        try ExperimentFile(path: experimentFilePath, name: experimentFileName).write(experiment)
        let blob = try repository.createBlob(Array(try Data(contentsOf: URL(fileURLWithPath: experimentFilePath))))
        tree = try repository.writeTree(base: tree, path: [experimentFileName], entry: (blob, .blob))!
        let commit = try repository.createCommit(tree: tree, parents: [tip],
                                                 message: "autoresearch: take the evaluator of \(name) from \(revision)\n\nGuarded paths: \(paths.joined(separator: ", "))\n")
        try repository.setReference(branch, to: commit, expecting: .value(tip), message: "autoresearch: rebase \(name) onto \(revision)")
        try repository.resetHard(to: commit)
        return EvaluatorUpdate(paths: paths, commit: commit)
    }
}
