import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Guard: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "guard",
            abstract: "Check that a commit on an experiment branch leaves the guarded paths as in the best commit.",
            discussion: """
            On an experiment branch (autoresearch/NAME), compares the staged tree (--staged; what \
            'git commit' would commit) or HEAD's tree with the best commit's, by tree entry ids, and \
            fails naming every guarded path that differs: .autoresearch, the experiment's guards, the \
            evaluate command's own files. Elsewhere, or before the baseline, it passes. The \
            pre-commit hook ('git autoresearch install-hooks') runs 'guard --staged'. With \
            AUTORESEARCH_ALLOW_GUARDED=1 the change passes and is logged in \
            .git/autoresearch/guard-overrides.log. Exit status: 0 passes, 1 refused.
            """)

        @Flag(help: "Check the staged changes (the index) instead of HEAD.")
        var staged = false

        mutating func run() throws {
            let workspace = try Workspace()
            guard let found = try workspace.guardViolations(staged: staged), !found.paths.isEmpty else { return }
            let paths = found.paths.joined(separator: ", ")
            let mainBranch = workspace.defaultBranch(experiment: found.experiment)
            if ProcessInfo.processInfo.environment[Hooks.overrideVariable] == "1" {
                try workspace.logGuardOverride(experiment: found.experiment, paths: found.paths)
                Terminal.notice("warning: guarded paths of experiment '\(found.experiment)' changed on purpose (\(Hooks.overrideVariable)=1): \(paths); logged in .git/autoresearch/guard-overrides.log")
                return
            }
            throw AutoresearchError("this \(staged ? "commit" : "branch") changes guarded paths of experiment '\(found.experiment)': \(paths)",
                                    hint: "guarded paths keep the metric honest, so runs would reject this change. To change the evaluator on purpose, commit it on \(mainBranch) and run 'git autoresearch rebase \(mainBranch)' here (the next run is a new baseline), or commit with \(Hooks.overrideVariable)=1 (logged) and then run 'git autoresearch init --name \(found.experiment)'. To undo: git restore --staged --worktree \(found.paths.joined(separator: " "))")
        }
    }
}
