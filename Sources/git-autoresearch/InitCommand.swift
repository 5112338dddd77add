import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create or update an experiment, commit its configuration, and switch to its branch.",
            discussion: """
            Writes the [experiment "NAME"] section of .autoresearch (git-config syntax; edit it with \
            'git config -f .autoresearch'), commits that file alone, creates branch autoresearch/NAME \
            and switches to it. Also adds refs/notes/autoresearch to notes.displayRef so plain \
            'git log' shows the run records. Refuses while other changes are uncommitted. \
            To change an existing experiment, run init again on its branch with the flags to change. \
            Where .autoresearch is a directory (the autoresearch skill's folder), the file is \
            .autoresearch.config instead. --from-skill takes the evaluate command, metric, direction \
            and budget from the skill's config.cfg; flags given with it override its values.
            """)

        @Option(name: .long, help: "Experiment name (letters, digits, '.', '_', '-'); with --from-skill, the skill's experiment folder name by default.")
        var name: String?

        @Option(name: .customLong("from-skill"), help: ArgumentHelp("The autoresearch skill's experiment folder or its config.cfg: evaluate_cmd, metric (metric_grep), metric_direction and time_budget_minutes become the experiment's settings.", valueName: "path"))
        var fromSkill: String?

        @Flag(name: [.short, .long], help: "Print nothing but errors and warnings.")
        var quiet = false

        @OptionGroup var evaluation: EvaluationOptions
        @OptionGroup(title: "Decision") var decision: DecisionOptions
        @OptionGroup(title: "Staged evaluation, metrics and artifacts") var staging: StagingOptions

        /// Every setting given on the command line, with its texts.
        var given: [(setting: Setting, texts: [String])] { evaluation.given + decision.given + staging.given }

        /// Refuses a value outside a setting's few allowed words (`--direction up`) as a usage error.
        func validate() throws {
            if name == nil, fromSkill == nil { throw ValidationError("Missing expected argument '--name <name>'") }
            for (setting, texts) in given {
                guard let choices = setting.choices, let text = texts.first(where: { !choices.contains($0) }) else { continue }
                let allowed = choices.map { "'\($0)'" }.joined(separator: " or ")
                throw ValidationError("\(setting.option ?? setting.key) must be \(allowed), not '\(text)'")
            }
        }

        mutating func run() throws {
            let workspace = try Workspace()
            let name = name ?? SkillConfig.defaultName(forPath: fromSkill ?? "")
            var settings = ExperimentSettings(name: name)
            if let fromSkill {
                settings = try SkillConfig(path: fromSkill).settings(name: name, overriddenBy: given)
            } else {
                for (setting, texts) in given { settings.set(setting, texts) }
            }
            if let program = evaluation.program, !program.isEmpty, !FileManager.default.fileExists(atPath: workspace.root + "/" + program) {
                Terminal.notice("warning: the program file \(program) does not exist yet")
            }
            let result = try workspace.initialize(settings)
            guard !quiet else { return }
            let experiment = result.experiment
            print("\(result.created ? "Created" : "Updated") experiment \(Terminal.paint(experiment.name, .bold)) on branch autoresearch/\(experiment.name)\(result.switched ? " (switched to it)" : "")")
            print("  evaluate  \(UntrustedText.visible(experiment.evaluate))")
            print("  metric    \(experiment.metric) (\(experiment.direction.rawValue) is better), budget \(Durations.format(experiment.budget)), hard limit \(Durations.format(experiment.timeout))")
            if let commit = result.configCommit { print("  committed \(workspace.experimentFileName) as \(commit.short)") }
            if experiment.agent != nil {
                print("Next: 'git autoresearch loop' (the first run measures the baseline, then the agent proposes changes).")
            } else {
                print("Next: make a change and run 'git autoresearch run' (the first run measures the baseline).")
            }
        }
    }
}
