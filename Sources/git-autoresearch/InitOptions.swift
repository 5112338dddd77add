import ArgumentParser
import Autoresearch

/// `init` options that decide what counts as an improvement.
struct DecisionOptions: ParsableArguments {
    @Option(help: "Evaluations per candidate; its value is their median, and the baseline's spread is the noise (default: 1).")
    var repeats: Int?

    @Option(name: .customLong("min-delta"), help: "Smallest improvement over the best that counts: an amount (0.01) or a percentage of the best (1%).")
    var minDelta: String?

    @Option(name: .customLong("noise-widths"), help: "When the noise is known, keep only a candidate better than the best by more than this many noise widths (default: 2).")
    var noiseWidths: Double?

    @Option(name: .customLong("recheck-every"), help: "'loop' measures the best again every N runs, so it is not a lucky draw (default: 0, never).")
    var recheckEvery: Int?

    @Option(name: .customLong("constraint"), help: "A bound a run must meet to be kept, on any metric it reports: 'peak_vram_mb <= 40000' (repeatable; '' clears).")
    var constraints: [String] = []

    func apply(to settings: inout ExperimentSettings) throws {
        settings.repeats = repeats
        settings.minDelta = minDelta
        settings.noiseWidths = noiseWidths
        settings.recheckEvery = recheckEvery
        settings.constraints = constraints.isEmpty ? nil : constraints
    }
}

/// `init` options for staged evaluation, the metrics contract, targets and artifacts.
struct StagingOptions: ParsableArguments {
    @Option(help: "A fast first stage: the full evaluation runs only when it passes (AUTORESEARCH_STAGE=smoke, then full).")
    var smoke: String?

    @Option(name: .customLong("smoke-budget"), help: "Time the smoke stage is meant to take (default: the budget).")
    var smokeBudget: String?

    @Option(name: .customLong("smoke-timeout"), help: "Hard limit of the smoke stage (default: 2.5 × smoke budget).")
    var smokeTimeout: String?

    @Option(name: .customLong("smoke-margin"), help: "Skip the full stage when the smoke result falls behind the best's smoke result by more than this (0.05 or 5%).")
    var smokeMargin: String?

    @Option(name: .customLong("require"), help: "A key the metric file must hold, dotted (counts.samples); 'ok', when present, must be true (repeatable; '' clears).")
    var requiredKeys: [String] = []

    @Option(name: .customLong("artifact"), help: "Files the evaluator writes to store with each run, a path or glob (repeatable; '' clears).")
    var artifacts: [String] = []

    @Option(name: .customLong("artifact-limit"), help: "Bytes of artifacts stored per run (default: 10485760).")
    var artifactLimit: Int?

    @Option(name: .customLong("target"), help: "A target evaluated in order, one evaluation each with AUTORESEARCH_TARGET set (repeatable; '' clears).")
    var targets: [String] = []

    @Option(name: .customLong("targets-file"), help: "A file listing the targets, one a line, read at each run (like benchmarks.txt).")
    var targetsFile: String?

    @Option(help: "How the targets' values become the metric: mean, min, max, or a target's name (default: mean).")
    var aggregate: String?

    @Option(help: "A human name for the experiment, shown by 'report'.")
    var title: String?

    @Option(help: "What the experiment is for, shown by 'report'.")
    var goal: String?

    func apply(to settings: inout ExperimentSettings) throws {
        settings.smoke = smoke
        settings.smokeBudget = try smokeBudget.map(Durations.parse)
        settings.smokeTimeout = try smokeTimeout.map(Durations.parse)
        settings.smokeMargin = smokeMargin
        settings.requiredKeys = requiredKeys.isEmpty ? nil : requiredKeys
        settings.artifacts = artifacts.isEmpty ? nil : artifacts
        settings.artifactLimit = artifactLimit
        settings.targets = targets.isEmpty ? nil : targets
        settings.targetsFile = targetsFile
        settings.aggregate = aggregate
        settings.title = title
        settings.goal = goal
    }
}
