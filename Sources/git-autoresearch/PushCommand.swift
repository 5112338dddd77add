import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "push",
            abstract: "Share experiments: push the records, the attempts and the experiment branches to a remote.",
            discussion: """
            Fetches the remote's records and attempts first and merges them into yours (union of \
            record lines; see 'pull'), so another machine's records are never overwritten; then pushes \
            refs/notes/autoresearch, refs/autoresearch/NAME/attempts and autoresearch/NAME. A race \
            lost to another machine pushing at the same moment is retried (fetch, merge, push) with \
            growing random waits. Lock files a killed process left on the tool's references \
            (refs/notes/autoresearch.lock, ...) are removed with a notice: here when older than 30 \
            seconds; in a remote on the file system when older than autoresearch.staleLockSeconds \
            (default 300), or at once with --break-stale-locks. An experiment branch that diverged from the remote's is pushed when \
            its best is better, joined with the remote's by a merge commit that holds our files (the \
            remote's branch moves forward); otherwise it is not pushed (its records and attempts are), \
            and 'loop --sync REMOTE' adopts the remote's. ssh runs the OpenSSH client as git does \
            (GIT_SSH_COMMAND, core.sshCommand, GIT_SSH, ssh), so ~/.ssh/config applies; https asks the \
            credential helpers (get once, store on success, erase on refusal), then the terminal.
            """)

        @Argument(help: "The remote: a configured remote's name, a URL (https://…, ssh://…, host:path) or a path.")
        var remote = "origin"

        @Option(name: [.short, .long], help: "Push only this experiment's branch and attempts (records are shared by all).")
        var experiment: String?

        @Flag(help: "In a remote on this machine's file system, remove every lock file on the tool's references, however young (a killed push left them).")
        var breakStaleLocks = false

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        mutating func run() throws {
            let workspace = try Workspace()
            let report = try workspace.push(remote: remote, experiment: experiment, breakStaleLocks: breakStaleLocks, notice: Terminal.notice)
            SharePrinter.print(report, remote: remote, format: format)
        }
    }
}

/// How `push` and `pull` report.
enum SharePrinter {
    static func print(_ report: ShareReport, remote: String, format: OutputFormat) {
        if format == .json {
            Swift.print(Terminal.json([
                "remote": remote, "records": report.records, "attempts_merged": report.attemptsMerged,
                "remote_branches": report.remoteBranches, "pushed": report.pushed,
                "skipped": report.skipped.map { ["branch": $0.branch, "reason": $0.reason] }, "attempts": report.attempts,
                "refused": report.refused, "pruned_again": report.prunedAgain, "resurrected": report.resurrected,
                "suspect": report.suspects.map { ["run": $0.record.run, "commit": $0.commit.hex, "reason": $0.reason] },
            ]))
            return
        }
        Swift.print("records: \(report.records) with \(remote)")
        if !report.attemptsMerged.isEmpty { Swift.print("attempts merged from \(remote): \(report.attemptsMerged.joined(separator: ", "))") }
        if !report.remoteBranches.isEmpty {
            Swift.print("\(remote)'s experiments: \(report.remoteBranches.map { "\(remote)/autoresearch/\($0)" }.joined(separator: ", "))")
        }
        if !report.pushed.isEmpty {
            Swift.print("pushed to \(remote): \(report.pushed.joined(separator: ", "))\(report.attempts > 1 ? " (after \(report.attempts) attempts)" : "")")
        }
        if !report.suspects.isEmpty {
            let first = report.suspects.prefix(3).map { UntrustedText.visible($0.summary) }.joined(separator: "; ")
            Terminal.notice("\(report.suspects.count) suspect record\(report.suspects.count == 1 ? "" : "s") from \(remote), ignored when finding the best: \(first)")
        }
        for skipped in report.skipped { Terminal.notice("not pushed: \(skipped.branch): \(skipped.reason)") }
        if !report.prunedAgain.isEmpty {
            Swift.print("pruned again: \(report.prunedAgain.count) record\(report.prunedAgain.count == 1 ? "" : "s") pruned here came back from \(remote) and were removed (pull --resurrect keeps them)")
        }
        if !report.resurrected.isEmpty {
            Swift.print("resurrected: \(UntrustedText.visible(report.resurrected.joined(separator: ", "))) from \(remote)")
        }
    }
}
