import ArgumentParser
import Autoresearch
import CProcessSupport
import Foundation

extension GitAutoresearch {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run one iteration: snapshot the work tree, evaluate, keep or reset, record.",
            discussion: """
            The changes in the work tree (tracked and new files, not ignored ones) become one candidate \
            commit on the experiment branch; commits already on the branch beyond the best are evaluated \
            as they are. The first run is the baseline. A candidate that is not strictly better is \
            reset away (branch, index and work tree back at the best commit); it stays reachable from \
            refs/autoresearch/NAME/attempts. Ctrl-C stops the evaluation and records it as interrupted.

            With --recheck, the best commit is measured again (its full stage and repeats) and recorded \
            as 'recheck'; a best that no longer beats the one it replaced is reported loudly.

            Exit codes: 0 keep or recheck, 10 discard, 11 crash, 12 timeout, 13 no-metric, 14 nothing to evaluate, 16 rejected, \
            130 interrupted, 1 error, 64 usage error.
            """)

        @OptionGroup var target: ExperimentOption

        @Option(name: [.short, .customLong("message")], help: "Description of the change (commit message and record).")
        var message: String?

        @OptionGroup var output: OutputOptions

        @Flag(help: "Measure the best commit again instead of a change: its value becomes the median of all its samples.")
        var recheck = false

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            cps_install_interrupt_handlers()
            let (format, quiet) = (output.format, output.quiet)
            let events = RunPrinter.events(quiet: quiet || format == .json, silent: quiet)
            let result = recheck ? .ran(try workspace.recheck(experiment: name, events: events))
                : try workspace.runOnce(experiment: name, message: message, events: events)
            Terminal.clearProgress()
            switch result {
            case .nothingToEvaluate(let best):
                if format == .json {
                    print(Terminal.json(["status": "nothing-to-evaluate", "experiment": name, "best_commit": best.hex]))
                } else if !quiet {
                    print("nothing to evaluate: the work tree and autoresearch/\(name) are at the best commit \(best.short)")
                }
                throw ExitCode(14)
            case .ran(let outcome):
                RunPrinter.report(outcome, format: format, quiet: quiet)
                let code = RunPrinter.exitCode(outcome.record.status)
                if code != 0 { throw ExitCode(code) }
            }
        }
    }
}

