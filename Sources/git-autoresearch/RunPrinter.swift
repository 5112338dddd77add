import Autoresearch
import Foundation

/// How runs are shown while they go and once finished.
enum RunPrinter {
    /// Events that show notices (unless `silent`; how to bring back files a reset took from the
    /// work tree always) and, on a terminal and unless `quiet`, a live line for the running step:
    /// elapsed / budget and the last line of its output.
    static func events(quiet: Bool, silent: Bool) -> RunEvents {
        var events = RunEvents()
        events.notice = { if !silent { Terminal.notice($0) } }
        events.mustSee = { Terminal.notice($0) }
        // A worker is this tool in a child process: its lines are already made visible (and may be coloured).
        events.workerOutput = { line, isError in
            Terminal.clearProgress()
            if isError {
                Terminal.writeToStandardError(line + "\n")
            } else {
                print(line)
                fflush(nil)
            }
        }
        guard !quiet else { return events }
        events.workersProgress = { workers in
            guard !workers.isEmpty else { return }
            Terminal.progress(workers.map { worker in
                let elapsed = Durations.format(worker.elapsed)
                let step = worker.step == "evaluation" ? "evaluating" : worker.step
                let job = worker.job.map { " job \($0)" + (worker.node.map { " on \($0)" } ?? "") + ":" } ?? ""
                return "w\(worker.worker)\(job) \(step) \(elapsed)" + (worker.budget.map { " / \(Durations.format($0))" } ?? "")
            }.joined(separator: " | "))
        }
        events.agentStarted = { run, _ in Terminal.progress("run \(run) agent starting") }
        events.started = { run, experiment, candidate, baseline in
            Terminal.progress("run \(run) \(baseline ? "baseline" : "candidate") \(candidate.short): \(experiment.evaluate)")
        }
        events.progress = { progress in
            let last = progress.lastLine.map { " | \($0)" } ?? ""
            let limit = progress.limit > progress.budget ? " (limit \(Durations.format(progress.limit)))" : ""
            let step = progress.step == .agent ? "agent" : "evaluating" + (progress.detail.map { " (\($0))" } ?? "")
            Terminal.progress("run \(progress.run) \(step) \(Durations.format(progress.elapsed)) / \(Durations.format(progress.budget))\(limit)\(last)")
        }
        return events
    }

    /// Where a worker runs, for `status`: its pid, or its scheduler's job id and node.
    static func place(of worker: WorkerState) -> String {
        guard let job = worker.job else { return "pid \(worker.pid)" }
        return "\(worker.launcher ?? "") job \(job)" + (worker.node.map { " on \(UntrustedText.visible($0))" } ?? "")
    }

    /// Prints a finished run: one line (with the end of the log when it failed), or a JSON object.
    static func report(_ outcome: RunOutcome, format: OutputFormat, quiet: Bool) {
        Terminal.clearProgress()
        if format == .json {
            print(json(outcome))
        } else if !quiet {
            print(Terminal.linePrefix + line(outcome))
            if outcome.record.status.isFailure || outcome.record.status == .interrupted {
                for line in outcome.tail.suffix(5) { print(Terminal.paint("  | \(UntrustedText.visible(line))", .dim)) }
                if FileManager.default.fileExists(atPath: outcome.logPath) {
                    print(Terminal.paint("  log: \(UntrustedText.visible(outcome.logPath))", .dim))
                }
                if let hint = outcome.hint { print(Terminal.paint("  " + UntrustedText.visible(hint), .dim)) }
            }
        }
        fflush(nil)  // a loop piped to a file shows each run as it ends
    }

    static func exitCode(_ status: RunStatus) -> Int32 {
        switch status {
        case .keep: return 0
        case .discard: return 10
        case .crash: return 11
        case .timeout: return 12
        case .noMetric: return 13
        case .interrupted: return 130
        case .noop: return 14
        case .agentError: return 15
        case .rejected: return 16
        case .recheck: return 0
        }
    }

    static func statusLabel(_ record: RunRecord) -> String {
        let text = record.isBaseline ? "baseline" : record.status.rawValue
        let padded = text.padding(toLength: 11, withPad: " ", startingAt: 0)
        switch record.status {
        case .keep: return Terminal.paint(padded, .green)
        case .discard: return Terminal.paint(padded, .yellow)
        case .crash, .timeout, .noMetric: return Terminal.paint(padded, .red)
        case .interrupted: return Terminal.paint(padded, .magenta)
        case .noop: return Terminal.paint(padded, .dim)
        case .agentError, .rejected: return Terminal.paint(padded, .red)
        case .recheck: return Terminal.paint(padded, .bold)
        }
    }

    /// `run ID  STATUS  metric=VALUE  DELTA  DURATION  COMMIT  "description"`, on one line.
    static func line(_ outcome: RunOutcome) -> String {
        let record = outcome.record
        var parts = ["run \(record.run)", statusLabel(record)]
        if let value = record.value {
            let spread = record.samples.count > 1 ? " (median of \(record.samples.count)\(record.noise.map { ", noise \(Number.format($0))" } ?? ""))" : ""
            parts.append("\(UntrustedText.visible(record.metric))=\(Number.format(value))\(spread)")
            if let delta = record.delta, let best = record.bestBefore {
                let relative = best != 0 ? String(format: " (%+.2f%%)", delta / abs(best) * 100) : ""
                parts.append("\(Number.signed(delta))\(relative) vs best \(Number.format(best))")
            }
            if let reason = record.reason { parts.append(UntrustedText.visible(reason)) }
        } else if let reason = record.reason {
            parts.append(UntrustedText.visible(reason))
        }
        if let smoke = record.smokeValue, record.stage == nil { parts.append("smoke \(Number.format(smoke))") }
        parts.append(Durations.format(record.duration))
        parts.append(outcome.commit.short)
        if !record.description.isEmpty { parts.append("\"\(UntrustedText.visible(record.description))\"") }
        return parts.joined(separator: "  ")
    }

    static func json(_ outcome: RunOutcome) -> String {
        let record = outcome.record
        return Terminal.json([
            "type": "run", "experiment": record.experiment, "run": record.run, "status": record.status.rawValue,
            "baseline": record.isBaseline, "metric": record.metric, "value": record.value,
            "best_before": record.bestBefore, "delta": record.delta, "duration": record.duration,
            "exit": record.exitCode.map { Int($0) }, "reason": record.reason, "description": record.description,
            "commit": outcome.commit.hex, "best_commit_before": outcome.bestBefore?.hex, "log": outcome.logPath,
            "samples": record.samples.isEmpty ? nil : record.samples, "noise": record.noise, "stage": record.stage,
            "smoke": record.smokeValue, "targets": record.targets.isEmpty ? nil : record.targets,
            "metrics": record.metrics.isEmpty ? nil : record.metricValues,
            "breach": record.breach, "artifacts": record.artifacts, "worker": record.worker, "hint": outcome.hint,
        ])
    }
}

extension RunPrinter {
    static func exitCode(_ stop: StopReason) -> Int32 {
        switch stop {
        case .maxRuns: return 0
        case .maxTime: return 20
        case .patience: return 21
        case .maxCrashes: return 22
        case .interrupted: return 130
        case .workerFailed: return 1
        }
    }

    /// Prints how a loop ended: why, runs by status, baseline → best with the relative change, best commit.
    static func report(_ summary: LoopSummary, options: LoopOptions, format: OutputFormat, quiet: Bool) {
        Terminal.clearProgress()
        let counts = summary.counts.map { "\($0.count) \($0.status.rawValue)" }.joined(separator: ", ")
        if format == .json {
            print(Terminal.json([
                "type": "summary", "experiment": summary.experiment, "stop": summary.stop.rawValue, "runs": summary.runs,
                "counts": Dictionary(uniqueKeysWithValues: summary.counts.map { ($0.status.rawValue, $0.count) }),
                "elapsed": summary.elapsed, "start_value": summary.startValue, "baseline_value": summary.baseline?.value,
                "best_value": summary.best?.record.value, "best_commit": summary.best?.commit.hex,
                "best_run": summary.best?.record.run, "improvement": summary.improvement,
            ]))
            return
        }
        guard !quiet else { return }
        print("\nStopped: \(summary.stop.explanation(options)), after \(summary.runs) run\(summary.runs == 1 ? "" : "s") in \(Durations.format(summary.elapsed))\(counts.isEmpty ? "" : " (\(counts))").")
        guard let best = summary.best, let value = best.record.value else {
            print("No baseline yet.")
            return
        }
        var line = "\(UntrustedText.visible(best.record.metric)): "
        if let base = summary.baseline?.value, summary.baseline?.run != best.record.run {
            line += "baseline \(Number.format(base)) → best \(Terminal.paint(Number.format(value), .bold))"
            if let improvement = summary.improvement { line += String(format: " (%+.2f%%, %@)", (value - base) / abs(base) * 100, improvement > 0 ? "better" : "worse") }
        } else {
            line += "best \(Terminal.paint(Number.format(value), .bold)) (the baseline)"
        }
        if let start = summary.startValue, start != value { line += "; this loop started at \(Number.format(start))" }
        print(line)
        print("Best commit: \(best.commit.short) on autoresearch/\(summary.experiment) (run \(best.record.run))")
    }
}
