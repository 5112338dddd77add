import ArgumentParser
import Autoresearch
import CProcessSupport
import Foundation

extension GitAutoresearch {
    struct Adopt: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "adopt",
            abstract: "Take a remote's better best: pull, move the experiment branch to it, and measure it here.",
            discussion: """
            Pulls from REMOTE, then moves autoresearch/NAME to the better of your best and the remote's, \
            as 'loop --sync' does: the branch only moves forward (a merge commit with the better side's \
            files when the two lines diverged), and a remote best measured with another evaluator or \
            configuration is refused. The adopted best is then measured again here (a recheck run) \
            unless --trust-remote-best. Uncommitted changes are refused before anything moves; where \
            autoresearch/NAME is checked out, its files follow. 'git autoresearch status' says when a \
            fetched remote best is better than yours.

            Exit codes: 0 adopted (or nothing better to adopt), 1 error, 64 usage error.
            """)

        @OptionGroup var target: ExperimentOption

        @Argument(help: "The remote (a configured remote's name).")
        var remote = "origin"

        @Flag(help: "Take the remote's best as measured there, without measuring it again here.")
        var trustRemoteBest = false

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            cps_install_interrupt_handlers()
            let events = RunPrinter.events(quiet: format == .json, silent: false)
            let adoption = try workspace.adopt(experiment: name, from: remote, trustRemoteBest: trustRemoteBest, events: events)
            Terminal.clearProgress()
            if format == .json {
                print(Terminal.json(["experiment": name, "remote": remote, "adopted": adoption.adopted,
                                     "message": adoption.notice, "recheck_run": adoption.recheck?.record.run,
                                     "recheck_value": adoption.recheck?.record.value]))
            } else {
                print(UntrustedText.visible(adoption.notice))
                if let recheck = adoption.recheck { RunPrinter.report(recheck, format: .text, quiet: false) }
            }
        }
    }
}
