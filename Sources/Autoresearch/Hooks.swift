import Foundation
import Git

/// The guard for commits made outside the tool (`git commit` by a person or an agent): the
/// pre-commit hook, its installation, and the check it runs.
public enum Hooks {
    /// The pre-commit hook, as shipped in `hooks/pre-commit`.
    public static let preCommit = """
    #!/bin/sh
    # git-autoresearch pre-commit hook: refuses a commit on an experiment branch (autoresearch/*)
    # that changes a guarded path (the evaluator, .autoresearch, the experiment's guards).
    # Installed by 'git autoresearch install-hooks', which keeps the hook it replaced as
    # pre-commit.before-autoresearch and runs it first.
    hooks=$(dirname "$0")
    if [ -x "$hooks/pre-commit.before-autoresearch" ]; then
      "$hooks/pre-commit.before-autoresearch" "$@" || exit $?
    fi
    branch=$(git symbolic-ref -q HEAD) || exit 0
    case "$branch" in
      refs/heads/autoresearch/*) ;;
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

    /// What `guard` found: the experiment of the branch HEAD is on, and the guarded paths the
    /// staged tree (the index, or the one in `GIT_INDEX_FILE`) or HEAD's tree changes against the best commit. Nil when HEAD is not on an
    /// experiment branch or the experiment has no best commit yet.
    public func guardViolations(staged: Bool) throws -> (experiment: String, paths: [String])? {
        guard case .branch(let branch, let tip?) = try repository.head(), branch.hasPrefix(Experiment.branchPrefix) else { return nil }
        let name = String(branch.dropFirst(Experiment.branchPrefix.count))
        guard let best = try Ledger(repository: repository).best(experiment: name, from: tip) else { return nil }
        let bestTree = try repository.commit(best.commit).tree
        // `git commit -a` and `git commit PATH` stage into a temporary index named in GIT_INDEX_FILE.
        let indexFile = ProcessInfo.processInfo.environment["GIT_INDEX_FILE"]
        let checked = staged ? try repository.indexTree(indexFile: indexFile) : try repository.commit(tip).tree
        let experiment = try self.experiment(named: name, at: best.commit)
        let paths = try GuardedPaths(experiment, tree: bestTree, repository: repository)
            .violations(best: bestTree, candidate: checked, repository: repository)
        return (name, paths)
    }

    /// Notes a guarded change let through with the override variable, in
    /// `.git/autoresearch/guard-overrides.log`.
    public func logGuardOverride(experiment: String, paths: [String]) throws {
        let directory = repository.gitDirectory + "autoresearch"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let line = "\(RunRecord.timestamp(Date())) experiment=\(experiment) user=\(NSUserName()) paths=\(paths.joined(separator: ","))\n"
        let path = directory + "/guard-overrides.log"
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            handle.closeFile()
        } else {
            try line.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}
