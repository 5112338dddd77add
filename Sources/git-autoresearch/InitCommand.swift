import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update an experiment, commit its configuration, and switch to its branch.",
            discussion: """
            Writes the [experiment "NAME"] section of .autoresearch (git-config syntax; edit it with \
            'git config -f .autoresearch'), commits that file alone, creates branch autoresearch/NAME \
            and switches to it. Also adds refs/notes/autoresearch to notes.displayRef so plain \
            'git log' shows the run records. Refuses while other changes are uncommitted. \
            To change an existing experiment, run init again on its branch with the flags to change.
            """)

        @Option(name: .long, help: "Experiment name (letters, digits, '.', '_', '-').")
        var name: String

        @Option(name: .customLong("eval"), help: "Evaluation command, run with /bin/sh -c at the top of the work tree.")
        var evaluate: String?

        @Option(help: "Metric name, as printed by the evaluator ('NAME: VALUE' or 'NAME=VALUE').")
        var metric: String?

        @Option(help: "Which way is better: lower or higher (default: lower).")
        var direction: String?

        @Option(help: "Time the evaluation is meant to take, e.g. 90s, 5m, 1h (default: 5m).")
        var budget: String?

        @Option(help: "Hard limit after which the evaluation's process group is killed (default: 2.5 × budget).")
        var timeout: String?

        @Option(help: "Time between SIGTERM and SIGKILL when the evaluation is stopped (default: 5s).")
        var grace: String?

        @Option(name: .customLong("metric-file"), help: "Read the metric from this JSON file (relative to the top of the work tree) instead of the output.")
        var metricFile: String?

        @Option(name: .customLong("metric-key"), help: "Dotted key path of the metric in --metric-file (default: the metric name).")
        var metricKey: String?

        @Option(name: .customLong("guard"), parsing: .upToNextOption, help: "Paths or globs the agent may not change (repeatable).")
        var guards: [String] = []

        @Option(help: "Agent command that 'loop' runs before each evaluation to change the work tree (see docs/agents.md).")
        var agent: String?

        @Option(name: .customLong("agent-timeout"), help: "Hard limit of one agent step (default: 30m).")
        var agentTimeout: String?

        @Option(help: "Instructions file for the agent (a file in the repository).")
        var program: String?

        @OptionGroup(title: "Decision") var decision: DecisionOptions
        @OptionGroup(title: "Staged evaluation, metrics and artifacts") var staging: StagingOptions

        mutating func run() throws {
            let workspace = try Workspace()
            var settings = ExperimentSettings(name: name)
            settings.evaluate = evaluate
            settings.metric = metric
            if let direction {
                guard let parsed = Direction(rawValue: direction) else {
                    throw ValidationError("--direction must be 'lower' or 'higher', not '\(direction)'")
                }
                settings.direction = parsed
            }
            settings.budget = try budget.map(Durations.parse)
            settings.timeout = try timeout.map(Durations.parse)
            settings.grace = try grace.map(Durations.parse)
            settings.metricFile = metricFile
            settings.metricKey = metricKey
            settings.guards = guards.isEmpty ? nil : guards
            settings.agent = agent
            settings.agentTimeout = try agentTimeout.map(Durations.parse)
            settings.program = program
            try decision.apply(to: &settings)
            try staging.apply(to: &settings)
            if let program, !program.isEmpty, !FileManager.default.fileExists(atPath: workspace.root + "/" + program) {
                Terminal.notice("warning: the program file \(program) does not exist yet")
            }
            let result = try workspace.initialize(settings)
            let experiment = result.experiment
            print("\(result.created ? "Created" : "Updated") experiment \(Terminal.paint(experiment.name, .bold)) on branch autoresearch/\(experiment.name)\(result.switched ? " (switched to it)" : "")")
            print("  evaluate  \(experiment.evaluate)")
            print("  metric    \(experiment.metric) (\(experiment.direction.rawValue) is better), budget \(Durations.format(experiment.budget)), hard limit \(Durations.format(experiment.timeout))")
            if let commit = result.configCommit { print("  committed \(ExperimentFile.fileName) as \(commit.short)") }
            if experiment.agent != nil {
                print("Next: 'git autoresearch loop' (the first run measures the baseline, then the agent proposes changes).")
            } else {
                print("Next: make a change and run 'git autoresearch run' (the first run measures the baseline).")
            }
        }
    }
}
