import Foundation
import Git

/// The stages of an evaluation: an optional fast `smoke` stage, then the `full` one.
public enum EvaluationStage: String, Sendable {
    case smoke, full
}

/// What the evaluation of one commit gave, over its stages, repeats and targets.
struct Evaluation {
    /// What the evaluation settled by itself: discard (a constraint broken, or the smoke result
    /// fell behind), crash, timeout, no-metric or interrupted; nil when it measured a value, which
    /// the caller then judges against the best.
    var status: RunStatus?
    /// The median of the samples.
    var value: Double?
    /// One value per repeat (the targets' aggregate when there are targets).
    var samples: [Double] = []
    var metrics: [(name: String, value: Double)] = []
    var targets: [String] = []
    var smokeValue: Double?
    /// True when the run ended at the smoke stage.
    var stoppedAtSmoke = false
    var exitCode: Int32?
    var reason: String?
    var breach: String?
    /// Seconds, over every command run.
    var duration: Double = 0
    /// The last lines of the last command's output.
    var tail: [String] = []

    /// Writes what was measured into `record`.
    func fill(_ record: inout RunRecord) {
        record.samples = samples.count > 1 ? samples : []
        record.metrics = metrics
        record.targets = targets
        record.smokeValue = smokeValue
        record.stage = stoppedAtSmoke ? EvaluationStage.smoke.rawValue : nil
        record.breach = breach
    }
}

/// One command of an evaluation: which stage, repeat and target it measures.
struct EvaluationStep {
    let stage: EvaluationStage
    /// The command and its time limits.
    let limits: Experiment.Stage
    let repeatIndex: Int
    let repeats: Int
    let target: String?
    let targetIndex: Int
    let targetCount: Int

    /// How progress and the log name the step; nil for the only command of a plain evaluation.
    var label: String? {
        var parts: [String] = []
        if stage == .smoke { parts.append("smoke") }
        if repeats > 1 { parts.append("repeat \(repeatIndex)/\(repeats)") }
        if let target { parts.append("target \(target) (\(targetIndex + 1)/\(targetCount))") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }
}

/// What a stage that passed measured.
private struct Measurement {
    /// The median of the samples.
    let value: Double
    let samples: [Double]
    let metrics: [(name: String, value: Double)]
}

/// What one command measured, or why it did not.
private enum StepOutcome {
    case measured(value: Double, metrics: [(name: String, value: Double)])
    case failed(CommandFailure)
}

extension ExperimentContext {
    /// Evaluates `candidate`: the smoke stage first when there is one (the full stage runs only when
    /// it passes, and, with `smokeMargin`, did not fall behind the best's smoke result), then the
    /// full stage: `repeats` times, each time every target in order. The first failure or broken
    /// constraint ends the evaluation.
    func evaluate(_ experiment: Experiment, run: String, candidate: OID, best: RunRecord?, logPath: String,
                  includeSmoke: Bool = true, onStart: (Int32) throws -> Void) throws -> Evaluation {
        var evaluation = Evaluation()
        guard LocalFile.write([], to: logPath) else {
            throw AutoresearchError("cannot write the log \(logPath)")
        }
        switch targets(of: experiment) {
        case .success(let targets): evaluation.targets = targets
        case .failure(let error):
            evaluation.status = .crash
            evaluation.reason = error.message
            return evaluation
        }
        var environment = ChildEnvironment(experiment: experiment, run: run, best: best?.value)
        environment.set("COMMIT", candidate.hex)
        try withoutActuallyEscaping(onStart) { onStart in
            let context = EvaluationContext(owner: self, experiment: experiment, run: run, environment: environment,
                                            logPath: logPath, onStart: onStart)
            try measureStages(context, best: best, includeSmoke: includeSmoke, into: &evaluation)
        }
        return evaluation
    }

    /// The smoke stage, then the full one when the smoke stage passed and did not fall behind.
    private func measureStages(_ context: EvaluationContext, best: RunRecord?, includeSmoke: Bool, into evaluation: inout Evaluation) throws {
        let experiment = context.experiment
        if includeSmoke, let smoke = experiment.smoke {
            let measured = try context.measure(.smoke, smoke, repeats: 1, targets: evaluation.targets, into: &evaluation)
            guard let smokeValue = measured?.value else {
                // The failure is the smoke stage's (its reason names it: "exit status 3 (smoke)").
                evaluation.smokeValue = evaluation.value
                evaluation.value = nil
                evaluation.stoppedAtSmoke = true
                return
            }
            evaluation.smokeValue = smokeValue
            if let margin = experiment.smokeMargin, let bestSmoke = best?.smokeValue {
                let behind = experiment.direction == .lower ? smokeValue - bestSmoke : bestSmoke - smokeValue
                if behind > margin.amount(from: bestSmoke) {
                    evaluation.status = .discard
                    evaluation.stoppedAtSmoke = true
                    evaluation.reason = "smoke: \(Number.format(smokeValue)) fell behind the best's smoke result \(Number.format(bestSmoke)) by more than \(margin); the full stage was not run"
                    return
                }
            }
        }
        guard let measured = try context.measure(.full, experiment.fullStage, repeats: experiment.repeats,
                                                 targets: evaluation.targets, into: &evaluation) else { return }
        evaluation.value = measured.value
        evaluation.samples = measured.samples
        evaluation.metrics = measured.metrics
    }

    /// The experiment's targets in order: the configured ones, or the lines of its targets file.
    func targets(of experiment: Experiment) -> Result<[String], AutoresearchError> {
        guard let file = experiment.targetsFile else { return .success(experiment.targets) }
        let path: String
        do { path = try Confinement.resolve(file, under: root, what: "the targets file \(file)") } catch { return .failure(error) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return .failure(AutoresearchError("the targets file \(file) cannot be read"))
        }
        let targets = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        if let invalid = targets.first(where: { !Experiment.isValidTarget($0) }) {
            return .failure(AutoresearchError("invalid target '\(invalid)' in \(file): a target is one word without '/', ',', '=' or quotes"))
        }
        if targets.isEmpty { return .failure(AutoresearchError("the targets file \(file) lists no target")) }
        return .success(targets)
    }
}

/// What every command of one evaluation shares.
private struct EvaluationContext {
    /// The experiment's context: its work tree and where progress goes.
    let owner: ExperimentContext
    let experiment: Experiment
    let run: String
    /// The environment of every command, before the step's own variables.
    let environment: ChildEnvironment
    let logPath: String
    let onStart: (Int32) throws -> Void

    /// Runs one stage: `repeats` times every target. Returns what it measured; nil when a command
    /// failed or broke a constraint, with the status and reason in `evaluation`.
    func measure(_ stage: EvaluationStage, _ limits: Experiment.Stage, repeats: Int, targets: [String],
                 into evaluation: inout Evaluation) throws -> Measurement? {
        var samples: [Double] = []
        var names: [String] = []
        var values: [String: [Double]] = [:]
        let plan: [String?] = targets.isEmpty ? [nil] : targets
        for repeatIndex in 1...repeats {
            var perTarget: [(target: String, value: Double)] = []
            for (targetIndex, target) in plan.enumerated() {
                let step = EvaluationStep(stage: stage, limits: limits, repeatIndex: repeatIndex, repeats: repeats,
                                          target: target, targetIndex: targetIndex, targetCount: plan.count)
                let named = step.label.map { " (\($0))" } ?? ""
                switch try execute(step, into: &evaluation) {
                case .failed(let failure):
                    evaluation.status = failure.status
                    evaluation.reason = failure.reason + named
                    evaluation.exitCode = failure.exitCode
                    return nil
                case .measured(let value, let metrics):
                    let byName = Dictionary(metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
                        .merging([experiment.metric: value]) { _, primary in primary }
                    if let breach = experiment.constraints.lazy.compactMap({ $0.breach(in: byName) }).first {
                        // The record shows what the breaking evaluation measured.
                        evaluation.value = value
                        evaluation.metrics = metrics
                        evaluation.status = .discard
                        evaluation.breach = breach
                        evaluation.reason = "constraint broken: \(breach)" + named
                        return nil
                    }
                    perTarget.append((target ?? "", value))
                    let prefix = target.map { $0 + "/" } ?? ""
                    var reported = metrics.filter { $0.name != experiment.metric }
                    if target != nil { reported.insert((experiment.metric, value), at: 0) }
                    for (name, metric) in reported {
                        let key = prefix + name
                        if values[key] == nil { names.append(key) }
                        values[key, default: []].append(metric)
                    }
                }
            }
            guard let sample = targets.isEmpty ? perTarget.first?.value : experiment.aggregate.combine(perTarget) else {
                evaluation.status = .noMetric
                evaluation.reason = "the aggregate '\(experiment.aggregate)' names no evaluated target (targets: \(targets.joined(separator: ", ")))"
                return nil
            }
            samples.append(sample)
        }
        return Measurement(value: Statistics.median(samples)!, samples: samples,
                           metrics: names.prefix(MetricLines.maxNames).map { ($0, Statistics.median(values[$0]!)!) })
    }

    /// Runs one command of the evaluation and reads what it reported.
    private func execute(_ step: EvaluationStep, into evaluation: inout Evaluation) throws -> StepOutcome {
        if let failure = prepare(step) { return .failed(failure) }
        var scanner = MetricScanner(name: experiment.metric)
        var lines = MetricLines()
        let result = try runCommand(of: step) { line in
            scanner.scan(line)
            lines.scan(line)
        }
        evaluation.duration += result.duration
        evaluation.tail = result.tail
        if let failure = CommandFailure(result, of: .evaluator, limit: step.limits.timeout, logLimit: experiment.logLimit) {
            return .failed(failure)
        }
        evaluation.exitCode = 0
        return readMetric(scanner: scanner, lines: lines, cut: CommandFailure.logCutNote(result, logLimit: experiment.logLimit))
    }

    /// Removes a metric file left by an earlier command (it must never pass for this one's
    /// result), and heads the step's output in the log with its label. Fails, removing nothing,
    /// when the metric file leads out of the work tree.
    private func prepare(_ step: EvaluationStep) -> CommandFailure? {
        if let file = experiment.metricSource.file {
            let path: String
            do { path = try metricFilePath(file) } catch { return CommandFailure(.noMetric, error.message + "; it was not removed") }
            try? FileManager.default.removeItem(atPath: path)
        }
        if let label = step.label, let log = FileHandle(forWritingAtPath: logPath) {
            log.seekToEndOfFile()
            log.write(Data("[git-autoresearch: \(label)]\n".utf8))
            try? log.close()
        }
        return nil
    }

    /// The metric file's path in the work tree, checked not to lead out of it.
    private func metricFilePath(_ file: String) throws(AutoresearchError) -> String {
        try Confinement.resolve(file, under: owner.root, what: "the metric file \(file)")
    }

    /// Runs the step's command with the step's environment, its output appended to the log.
    private func runCommand(of step: EvaluationStep, onLine: (Substring) -> Void) throws -> CommandResult {
        var environment = self.environment
        environment.set(step)
        let progressDetail = step.label
        let result = try GroupProcess.run(step.limits.command, in: owner.root, environment: environment.variables,
                                    hardLimit: step.limits.timeout, grace: experiment.grace,
                                    logPath: logPath, logLimit: experiment.logLimit, appendToLog: true, onStart: onStart,
                                    onLine: onLine,
                                    onProgress: {
                                        owner.events.progress(StepProgress(step: .evaluation, run: run, elapsed: $0.elapsed, budget: step.limits.budget,
                                                                     limit: step.limits.timeout, lastLine: $0.lastLine, detail: progressDetail))
                                    },
                                    isInterrupted: owner.events.isInterrupted)
        // A scheduler stopping a worker signals every process of its job, the evaluator too: a
        // command that ended while the tool was being stopped may have ended because of it.
        guard result.termination != .interrupted, owner.events.isInterrupted() else { return result }
        return CommandResult(termination: .interrupted, duration: result.duration, tail: result.tail, outputBytes: result.outputBytes,
                             logTruncated: result.logTruncated)
    }

    /// The metric a command that exited with status 0 reported, from its output or its metric
    /// file; `cut` notes a cut log in the reason of a failure.
    private func readMetric(scanner: MetricScanner, lines: MetricLines, cut: String) -> StepOutcome {
        switch experiment.metricSource {
        case .output:
            guard let value = scanner.value else {
                let reason = scanner.invalidValue.map { "\(experiment.metric) is not a finite number: \($0)" }
                    ?? "no line '\(experiment.metric): VALUE' or '\(experiment.metric)=VALUE' in the output"
                return .failed(CommandFailure(.noMetric, reason + cut, exitCode: 0))
            }
            if let missing = experiment.requiredKeys.first(where: { lines.values[$0] == nil }) {
                return .failed(CommandFailure(.noMetric, "no line '\(missing): VALUE' in the output (a required metric)" + cut, exitCode: 0))
            }
            return .measured(value: value, metrics: lines.ordered)
        case .jsonFile(let file, let key):
            let path: String
            do { path = try metricFilePath(file) } catch { return .failed(CommandFailure(.noMetric, error.message, exitCode: 0)) }
            switch MetricsFile.read(path: path, name: file, keyPath: key, required: experiment.requiredKeys) {
            case .success(let contents): return .measured(value: contents.value, metrics: contents.metrics)
            case .failure(let failure): return .failed(CommandFailure(failure.status, failure.reason + cut, exitCode: 0))
            }
        }
    }
}

extension ChildEnvironment {
    /// Sets what tells an evaluator which step it runs: its budget, stage, repeat and target.
    mutating func set(_ step: EvaluationStep) {
        set("BUDGET_SECONDS", seconds: step.limits.budget)
        set("STAGE", step.stage.rawValue)
        set("REPEAT", String(step.repeatIndex))
        set("REPEATS", String(step.repeats))
        set("TARGET", step.target ?? "")
        set("TARGET_INDEX", step.target == nil ? "" : String(step.targetIndex))
    }
}

extension MetricSource {
    /// The metric file, for a JSON source.
    var file: String? {
        if case .jsonFile(let path, _) = self { return path }
        return nil
    }
}
