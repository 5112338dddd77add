import ArgumentParser
import Autoresearch
import CProcessSupport
import Foundation

extension GitAutoresearch {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo",
            abstract: "Run the built-in demo: an example experiment and a loop with a scripted agent (no LLM).",
            discussion: """
            Creates a throwaway repository, configures experiment 'demo' (evaluate.sh prints a loss that \
            depends on LEARNING_RATE in params.env; agent.sh is a scripted agent that tries one rate per \
            run), and runs 'git autoresearch loop --max-runs 7': the baseline, then keeps, discards, a \
            crash and a no-op. A temporary repository is removed at the end unless --keep; one made \
            with --dir stays. Look at a kept one with \
            git -C DIR log --notes=autoresearch autoresearch/demo
            """)

        @Option(help: "Directory for the demo repository (must be new or empty; kept; default: a new temporary directory, removed at the end).")
        var dir: String?

        @Flag(help: "Keep the temporary demo repository, to look at its records with git.")
        var keep = false

        mutating func run() throws {
            let path = dir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("git-autoresearch-demo-\(getpid())").path
            print("Demo repository: \(path)")
            let workspace = try Autoresearch.Demo.setUp(at: path)
            // Only once set up: a directory that was there is never removed.
            let removeAtEnd = dir == nil && !keep
            defer {
                if removeAtEnd {
                    try? FileManager.default.removeItem(atPath: path)
                    print("Removed the demo repository \(path); keep it with --keep (or --dir DIR) to see its records with git.")
                }
            }
            let name = Autoresearch.Demo.experimentName
            print("Experiment '\(name)': sh evaluate.sh prints 'loss: VALUE' (lower is better); sh agent.sh edits params.env.")
            print("$ git autoresearch loop --max-runs \(Autoresearch.Demo.runs)\n")
            cps_install_interrupt_handlers()
            var options = LoopOptions()
            options.maxRuns = Autoresearch.Demo.runs
            let summary = try workspace.loop(experiment: name, options: options,
                                             events: RunPrinter.events(quiet: false, silent: false)) {
                RunPrinter.report($0, format: .text, quiet: false)
            }
            RunPrinter.report(summary, options: options, format: .text, quiet: false)
            if !removeAtEnd { print("See the records: git -C \(path) log --notes=autoresearch autoresearch/\(name)") }
        }
    }
}
