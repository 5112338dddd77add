import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Rebase: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rebase",
            abstract: "Take a new evaluator into the experiment: the guarded paths of a revision, as one commit; the next run is a new baseline.",
            discussion: """
            The way to change the evaluator on purpose: edit and commit it on your main branch, switch \
            to autoresearch/NAME, then 'git autoresearch rebase'. The revision defaults to the branch \
            the experiment was created from (else init.defaultBranch, else origin/HEAD's branch). The experiment's guarded paths \
            (the evaluate command's files and its guards, not .autoresearch) are taken from that \
            revision, the new evaluator is pinned in .autoresearch, and the next run measures a new \
            baseline; 'log' marks the runs measured with the older evaluator.
            """)

        @OptionGroup var target: ExperimentOption

        @Argument(help: "The branch or commit with the new evaluator (default: the branch the experiment was created from).")
        var revision: String?

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            let revision = revision ?? workspace.defaultBranch(experiment: name)
            let update = try workspace.takeEvaluator(experiment: name, from: revision)
            print("Took \(UntrustedText.visible(update.paths.joined(separator: ", "))) from \(revision) as \(update.commit.short) on autoresearch/\(name); the next run measures a new baseline.")
        }
    }
}
