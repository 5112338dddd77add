import ArgumentParser
import Autoresearch
import CProcessSupport
import Foundation

extension GitAutoresearch {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one iteration: snapshot the work tree, evaluate, keep or reset, record.",
            discussion: """
            The changes in the work tree (tracked and new files, not ignored ones) become one candidate \
            commit on the experiment branch; commits already on the branch beyond the best are evaluated \
            as they are. The first run is the baseline. A candidate that is not strictly better is \
            reset away (branch, index and work tree back at the best commit); it stays reachable from \
            refs/autoresearch/NAME/attempts. Ctrl-C stops the evaluation and records it as interrupted.

            Exit codes: 0 keep, 10 discard, 11 crash, 12 timeout, 13 no-metric, 14 nothing to evaluate, \
            130 interrupted, 1 error, 64 usage error.
            """)

        @OptionGroup var target: ExperimentOption

        @Option(name: [.short, .customLong("message")], help: "Description of the change (commit message and record).")
        var message: String?

        @Option(help: "Output: text (one line per run) or json.")
        var format: OutputFormat = .text

        @Flag(name: [.short, .long], help: "Print nothing but errors.")
        var quiet = false

        mutating func run() throws {
            let workspace = try Workspace()
            let name = try workspace.resolveExperimentName(target.experiment)
            cps_install_interrupt_handlers()
            var events = RunEvents()
            let silent = quiet
            let quiet = silent || format == .json
            events.notice = { if !silent { Terminal.notice($0) } }
            events.started = { run, experiment, candidate, baseline in
                if !quiet, Terminal.stderrIsTTY {
                    Terminal.progress("run \(run) \(baseline ? "baseline" : "candidate") \(candidate.short): \(experiment.evaluate)")
                }
            }
            events.progress = { progress, experiment in
                guard !quiet else { return }
                let last = progress.lastLine.map { " | \($0)" } ?? ""
                Terminal.progress("evaluating \(Durations.format(progress.elapsed)) / \(Durations.format(experiment.budget)) (limit \(Durations.format(experiment.timeout)))\(last)")
            }
            let result = try workspace.runOnce(experiment: name, message: message, events: events)
            Terminal.clearProgress()
            switch result {
            case .nothingToEvaluate(let best):
                if format == .json {
                    print(Terminal.json(["status": "nothing-to-evaluate", "experiment": name, "best_commit": best.hex]))
                } else if !self.quiet {
                    print("nothing to evaluate: the work tree and autoresearch/\(name) are at the best commit \(best.short)")
                }
                throw ExitCode(14)
            case .ran(let outcome):
                if format == .json {
                    print(RunPrinter.json(outcome))
                } else if !self.quiet {
                    print(RunPrinter.line(outcome))
                    if outcome.record.status != .keep && outcome.record.status != .discard {
                        for line in outcome.tail.suffix(5) { print(Terminal.paint("  | \(line)", .dim)) }
                        print(Terminal.paint("  log: \(outcome.logPath)", .dim))
                    }
                }
                let code = RunPrinter.exitCode(outcome.record.status)
                if code != 0 { throw ExitCode(code) }
            }
        }
    }
}

/// How a finished run is shown.
enum RunPrinter {
    static func exitCode(_ status: RunStatus) -> Int32 {
        switch status {
        case .keep: return 0
        case .discard: return 10
        case .crash: return 11
        case .timeout: return 12
        case .noMetric: return 13
        case .interrupted: return 130
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
        }
    }

    /// `run ID  STATUS  metric=VALUE  DELTA  DURATION  COMMIT  "description"`
    static func line(_ outcome: RunOutcome) -> String {
        let record = outcome.record
        var parts = ["run \(record.run)", statusLabel(record)]
        if let value = record.value {
            parts.append("\(record.metric)=\(Number.format(value))")
            if let delta = record.delta, let best = record.bestBefore {
                let relative = best != 0 ? String(format: " (%+.2f%%)", delta / abs(best) * 100) : ""
                parts.append("\(Number.signed(delta))\(relative) vs best \(Number.format(best))")
            }
        } else if let reason = record.reason {
            parts.append(reason)
        }
        parts.append(Durations.format(record.duration))
        parts.append(outcome.commit.short)
        if !record.description.isEmpty { parts.append("\"\(record.description)\"") }
        return parts.joined(separator: "  ")
    }

    static func json(_ outcome: RunOutcome) -> String {
        let record = outcome.record
        return Terminal.json([
            "experiment": record.experiment, "run": record.run, "status": record.status.rawValue,
            "baseline": record.isBaseline, "metric": record.metric, "value": record.value,
            "best_before": record.bestBefore, "delta": record.delta, "duration": record.duration,
            "exit": record.exitCode.map { Int($0) }, "reason": record.reason, "description": record.description,
            "commit": outcome.commit.hex, "best_commit_before": outcome.bestBefore?.hex, "log": outcome.logPath,
        ])
    }
}

/// Numbers as users read them: up to 6 significant digits.
enum Number {
    static func format(_ value: Double) -> String { String(format: "%.6g", value) }
    static func signed(_ value: Double) -> String { String(format: "%+.6g", value) }
}
