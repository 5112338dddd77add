import ArgumentParser
import Autoresearch

extension NameSpecification {
    /// The long flag of an experiment setting, from the settings table.
    static func setting(_ setting: Setting) -> NameSpecification { .customLong(setting.flag ?? setting.key) }
}

extension ArgumentHelp {
    /// The help of an experiment setting's flag, from the settings table.
    static func setting(_ setting: Setting) -> ArgumentHelp { ArgumentHelp(setting.flagHelp) }
}

/// `init` options that each set one experiment setting; `given` pairs each with its setting.
protocol SettingOptions: ParsableArguments {
    /// The settings given on the command line and their texts (none: not given).
    var given: [(setting: Setting, texts: [String])] { get }
}

extension Optional where Wrapped: CustomStringConvertible {
    /// The text of a flag's value: none when the flag was not given.
    var texts: [String] { map { [$0.description] } ?? [] }
}

/// `init` options of the evaluation, its limits and the agent.
struct EvaluationOptions: SettingOptions {
    @Option(name: .setting(.evaluate), help: .setting(.evaluate)) var evaluate: String?
    @Option(name: .setting(.metric), help: .setting(.metric)) var metric: String?
    @Option(name: .setting(.direction), help: .setting(.direction)) var direction: String?
    @Option(name: .setting(.budget), help: .setting(.budget)) var budget: String?
    @Option(name: .setting(.timeout), help: .setting(.timeout)) var timeout: String?
    @Option(name: .setting(.grace), help: .setting(.grace)) var grace: String?
    @Option(name: .setting(.metricFile), help: .setting(.metricFile)) var metricFile: String?
    @Option(name: .setting(.metricKey), help: .setting(.metricKey)) var metricKey: String?
    @Option(name: .setting(.guards), parsing: .upToNextOption, help: .setting(.guards)) var guards: [String] = []
    @Option(name: .setting(.agent), help: .setting(.agent)) var agent: String?
    @Option(name: .setting(.agentTimeout), help: .setting(.agentTimeout)) var agentTimeout: String?
    @Option(name: .setting(.program), help: .setting(.program)) var program: String?

    var given: [(setting: Setting, texts: [String])] {
        [(.evaluate, evaluate.texts), (.metric, metric.texts), (.direction, direction.texts), (.budget, budget.texts),
         (.timeout, timeout.texts), (.grace, grace.texts), (.metricFile, metricFile.texts), (.metricKey, metricKey.texts),
         (.guards, guards), (.agent, agent.texts), (.agentTimeout, agentTimeout.texts), (.program, program.texts)]
    }
}

/// `init` options that decide what counts as an improvement.
struct DecisionOptions: SettingOptions {
    @Option(name: .setting(.repeats), help: .setting(.repeats)) var repeats: String?
    @Option(name: .setting(.minDelta), help: .setting(.minDelta)) var minDelta: String?
    @Option(name: .setting(.noiseWidths), help: .setting(.noiseWidths)) var noiseWidths: String?
    @Option(name: .setting(.recheckEvery), help: .setting(.recheckEvery)) var recheckEvery: String?
    @Option(name: .setting(.constraints), help: .setting(.constraints)) var constraints: [String] = []

    var given: [(setting: Setting, texts: [String])] {
        [(.repeats, repeats.texts), (.minDelta, minDelta.texts), (.noiseWidths, noiseWidths.texts),
         (.recheckEvery, recheckEvery.texts), (.constraints, constraints)]
    }
}

/// `init` options for staged evaluation, the metrics contract, targets, artifacts, candidate sizes and the report.
struct StagingOptions: SettingOptions {
    @Option(name: .setting(.smoke), help: .setting(.smoke)) var smoke: String?
    @Option(name: .setting(.smokeBudget), help: .setting(.smokeBudget)) var smokeBudget: String?
    @Option(name: .setting(.smokeTimeout), help: .setting(.smokeTimeout)) var smokeTimeout: String?
    @Option(name: .setting(.smokeMargin), help: .setting(.smokeMargin)) var smokeMargin: String?
    @Option(name: .setting(.requiredKeys), help: .setting(.requiredKeys)) var requiredKeys: [String] = []
    @Option(name: .setting(.artifacts), help: .setting(.artifacts)) var artifacts: [String] = []
    @Option(name: .setting(.artifactLimit), help: .setting(.artifactLimit)) var artifactLimit: String?
    @Option(name: .setting(.maxFileSize), help: .setting(.maxFileSize)) var maxFileSize: String?
    @Option(name: .setting(.maxCandidateSize), help: .setting(.maxCandidateSize)) var maxCandidateSize: String?
    @Option(name: .setting(.targets), help: .setting(.targets)) var targets: [String] = []
    @Option(name: .setting(.targetsFile), help: .setting(.targetsFile)) var targetsFile: String?
    @Option(name: .setting(.aggregate), help: .setting(.aggregate)) var aggregate: String?
    @Option(name: .setting(.title), help: .setting(.title)) var title: String?
    @Option(name: .setting(.goal), help: .setting(.goal)) var goal: String?

    var given: [(setting: Setting, texts: [String])] {
        [(.smoke, smoke.texts), (.smokeBudget, smokeBudget.texts), (.smokeTimeout, smokeTimeout.texts),
         (.smokeMargin, smokeMargin.texts), (.requiredKeys, requiredKeys), (.artifacts, artifacts),
         (.artifactLimit, artifactLimit.texts), (.maxFileSize, maxFileSize.texts),
         (.maxCandidateSize, maxCandidateSize.texts), (.targets, targets), (.targetsFile, targetsFile.texts),
         (.aggregate, aggregate.texts), (.title, title.texts), (.goal, goal.texts)]
    }
}
