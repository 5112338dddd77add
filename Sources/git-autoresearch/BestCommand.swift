import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Best: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "best", abstract: "Print the best commit of an experiment and its value.")

        @OptionGroup var target: ExperimentOption

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            guard let found = try workspace.best(experiment: name), let value = found.best.record.value else {
                throw AutoresearchError("experiment '\(name)' has no kept run yet", hint: "measure the baseline with 'git autoresearch run'")
            }
            let record = found.best.record
            if format == .json {
                let base = found.baseline?.value
                let improvement = base.flatMap { found.experiment.direction.improvement(from: $0, to: value) }
                print(Terminal.json(["experiment": name, "commit": found.best.commit.hex, "value": value, "metric": record.metric,
                                     "direction": found.experiment.direction.rawValue, "run": record.run,
                                     "baseline_value": base, "improvement": improvement]))
            } else {
                print("\(found.best.commit.hex) \(UntrustedText.visible(record.metric))=\(Number.format(value))")
            }
        }
    }
}
