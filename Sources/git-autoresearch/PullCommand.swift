import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pull",
            abstract: "Fetch a remote's experiments and merge its records and attempts into yours.",
            discussion: """
            Fetches the remote's experiment branches into refs/remotes/REMOTE/autoresearch/NAME (your \
            branches are not touched), its attempts chains and its records \
            (refs/notes/remotes/REMOTE/autoresearch). Records are merged by the union of lines per \
            commit, so every run of every machine appears once; attempts chains are joined by a merge \
            commit. Afterwards git log --notes=autoresearch shows everyone's runs. Records removed here \
            with 'prune' that the remote still has are removed again (their tombstones hold), unless \
            --resurrect. When the remote's best is better than yours, 'status' says so and \
            'git autoresearch adopt REMOTE' takes it.
            """)

        @Argument(help: "The remote: a configured remote's name, a URL (https://…, ssh://…, host:path) or a path.")
        var remote = "origin"

        @Flag(help: "Keep the records of runs pruned here that the remote still has (and drop their tombstones), instead of removing them again.")
        var resurrect = false

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        mutating func run() throws {
            let workspace = try Workspace()
            let report = try workspace.pull(remote: remote, resurrect: resurrect, notice: Terminal.notice)
            SharePrinter.print(report, remote: remote, format: format)
        }
    }
}
