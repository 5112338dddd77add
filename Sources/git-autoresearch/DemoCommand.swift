import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the built-in demo: an example experiment, a baseline and scripted edits (no LLM).",
            discussion: """
            Creates a throwaway repository, configures experiment 'demo' (evaluate.sh prints a loss that \
            depends on LEARNING_RATE in params.env), measures the baseline, then applies a few scripted \
            edits, each as one run: you see keeps, discards and a crash. Look at the result with \
            git -C DIR log --notes=autoresearch autoresearch/demo
            """)

        @Option(help: "Directory for the demo repository (must be new or empty; default: a new temporary directory).")
        var dir: String?

        mutating func run() throws {
            let path = dir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("git-autoresearch-demo-\(getpid())").path
            print("Demo repository: \(path)")
            let workspace = try Autoresearch.Demo.setUp(at: path)
            let name = Autoresearch.Demo.experimentName
            print("Experiment '\(name)': sh evaluate.sh prints 'loss: VALUE'; lower is better.\n")
            let steps: [(rate: String?, description: String)] = [(nil, "baseline")] + Autoresearch.Demo.edits.map { ($0.rate, $0.description) }
            for step in steps {
                if let rate = step.rate {
                    try Autoresearch.Demo.apply(rate: rate, in: workspace)
                    print(Terminal.paint("agent: \(step.description)", .cyan))
                }
                let message = step.rate == nil ? nil : step.description
                if case .ran(let outcome) = try workspace.runOnce(experiment: name, message: message) {
                    print(RunPrinter.line(outcome))
                }
            }
            let status = try workspace.status(experiment: name)
            if let best = status.best, let value = best.record.value, let base = status.baseline?.value {
                print(String(format: "\nBest loss %@ at %@ (baseline %@, %+.1f%% better). Runs: %@.", Number.format(value),
                             best.commit.short, Number.format(base), (status.improvement ?? 0) * 100,
                             status.counts.map { "\($0.count) \($0.status.rawValue)" }.joined(separator: ", ")))
            }
            print("See the records: git -C \(path) log --notes=autoresearch autoresearch/\(name)")
        }
    }
}
