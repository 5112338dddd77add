import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Best: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the best commit of an experiment and its value.")

        @OptionGroup var target: ExperimentOption

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        mutating func run() throws {
            let workspace = try Workspace()
            let name = try workspace.resolveExperimentName(target.experiment)
            let status = try workspace.status(experiment: name)
            guard let best = status.best, let value = best.record.value else {
                throw AutoresearchError("experiment '\(name)' has no kept run yet", hint: "measure the baseline with 'git autoresearch run'")
            }
            if format == .json {
                print(Terminal.json(["experiment": name, "commit": best.commit.hex, "value": value, "metric": best.record.metric,
                                     "direction": status.experiment.direction.rawValue, "run": best.record.run,
                                     "baseline_value": status.baseline?.value, "improvement": status.improvement]))
            } else {
                print("\(best.commit.hex) \(best.record.metric)=\(Number.format(value))")
            }
        }
    }
}
