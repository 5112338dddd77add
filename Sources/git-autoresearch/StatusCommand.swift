import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show an experiment: branch, best commit and value, runs so far by status, live workers.",
            discussion: "Also repairs a run left unfinished by a killed process, and says so. When a fetched remote branch of the experiment holds a better best, a 'remote' line says so and names the command that adopts it (git autoresearch adopt REMOTE).")

        @OptionGroup var target: ExperimentOption

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        @Flag(help: "Show the line of the best so far (text) even when standard output is not a terminal.")
        var sparkline = false

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            let status = try workspace.status(experiment: name)
            if let repaired = status.repaired { Terminal.notice(repaired) }
            if let lostRecord = status.lostRecord { Terminal.notice(lostRecord) }
            let remoteBests = try workspace.betterRemoteBests(experiment: name)
            let experimentArgument = target.experiment.map { " -e \($0)" } ?? ""
            let adoptCommand = { (remote: String) in "git autoresearch adopt \(remote)" + experimentArgument }
            if format == .json {
                print(Self.json(status, name: name, remoteBests: remoteBests, adoptCommand: adoptCommand))
            } else {
                Self.printText(status, name: name)
                for remoteBest in remoteBests { Self.printRemoteBest(remoteBest, adoptCommand: adoptCommand(remoteBest.remote)) }
                if sparkline || Terminal.stdoutIsTTY { try Self.printSparkline(workspace, name: name) }
            }
        }

        /// The best so far after each run as one line of block characters, with its first and last values.
        private static func printSparkline(_ workspace: Workspace, name: String) throws {
            let values = try workspace.progress(experiment: name).bestSoFar
            guard let first = values.first, let last = values.last else { return }
            let label = Terminal.paint("progress".padding(toLength: 12, withPad: " ", startingAt: 0), .bold)
            print("\(label)\(Terminal.paint(Sparkline.line(values), .green)) \(Number.format(first)) → \(Number.format(last)) (best so far, \(values.count) runs)")
        }

        /// The status as one JSON object.
        private static func json(_ status: ExperimentStatus, name: String, remoteBests: [RemoteBest],
                                 adoptCommand: (String) -> String) -> String {
            let experiment = status.experiment
            return Terminal.json([
                "experiment": name, "branch": status.branch, "tip": status.tip.hex,
                "branch_gone": status.restoreCommand != nil, "restore": status.restoreCommand,
                "evaluate": experiment.evaluate, "metric": experiment.metric, "direction": experiment.direction.rawValue,
                "budget": experiment.budget, "timeout": experiment.timeout,
                "best_commit": status.best?.commit.hex, "best_value": status.best?.record.value,
                "best_run": status.best?.record.run, "baseline_value": status.baseline?.value, "baseline_run": status.baseline?.run,
                "improvement": status.improvement, "runs": status.runs,
                "suspect": status.suspects.map { ["run": $0.record.run, "commit": $0.commit.hex, "reason": $0.reason] },
                "counts": Dictionary(uniqueKeysWithValues: status.counts.map { ($0.status.rawValue, $0.count) }),
                "running_pid": status.lockHolder.map { Int($0) },
                "better_remote_bests": remoteBests.map { remote -> [String: Any] in
                    let fields: [String: Any?] = [
                        "remote": remote.remote, "tip": remote.tip.hex, "best_commit": remote.best.commit.hex,
                        "best_run": remote.best.record.run, "best_value": remote.best.record.value, "host": remote.best.record.host,
                        "incomparable": remote.incomparable, "adopt": remote.incomparable == nil ? adoptCommand(remote.remote) : nil,
                    ]
                    return fields.compactMapValues { $0 }
                },
                "workers": status.workers.map { worker -> [String: Any] in
                    let fields: [String: Any?] = [
                        "worker": worker.worker, "pid": Int(worker.pid), "worktree": worker.worktree, "step": worker.step,
                        "run": worker.run, "step_seconds": worker.elapsed, "runs": worker.runs,
                        "counts": worker.counts, "launcher": worker.launcher, "job": worker.job, "node": worker.node,
                    ]
                    return fields.compactMapValues { $0 }
                },
            ])
        }

        /// The line saying that a fetched remote best is better than ours, and how to adopt it.
        private static func printRemoteBest(_ remote: RemoteBest, adoptCommand: String) {
            let record = remote.best.record
            let label = Terminal.paint("remote".padding(toLength: 12, withPad: " ", startingAt: 0), .bold)
            let best = "\(remote.remote)'s best is better: \(Number.format(record.value ?? 0)) at \(remote.best.commit.short) (run \(record.run) on \(record.host))"
            let advice = remote.incomparable.map { "; not adoptable: \($0)" } ?? "; adopt it with: \(adoptCommand)"
            print(label + UntrustedText.visible(best + advice))
        }

        /// The status as labelled lines.
        private static func printText(_ status: ExperimentStatus, name: String) {
            let experiment = status.experiment
            let label = { (text: String) in Terminal.paint(text.padding(toLength: 12, withPad: " ", startingAt: 0), .bold) }
            if let restore = status.restoreCommand {
                print("\(label("experiment"))\(name) (branch autoresearch/\(name) is gone; its runs are in the ledger)")
                print("\(label("restore"))\(restore)")
            } else {
                print("\(label("experiment"))\(name) (branch autoresearch/\(name) at \(status.tip.short))")
            }
            print("\(label("evaluate"))\(UntrustedText.visible(experiment.evaluate))")
            print("\(label("metric"))\(UntrustedText.visible(experiment.metric)), \(experiment.direction.rawValue) is better; budget \(Durations.format(experiment.budget)), hard limit \(Durations.format(experiment.timeout))")
            if let best = status.best, let value = best.record.value {
                var line = "\(Number.format(value)) at \(best.commit.short) (run \(best.record.run))"
                if let base = status.baseline?.value, let improvement = status.improvement, best.record.run != status.baseline?.run {
                    line += String(format: "; baseline %@, %+.2f%% better", Number.format(base), improvement * 100)
                }
                print("\(label("best"))\(line)")
            } else {
                print("\(label("best"))none yet: the next run measures the baseline")
            }
            if !status.suspects.isEmpty {
                let first = status.suspects.prefix(3).map { UntrustedText.visible($0.summary) }.joined(separator: "; ")
                print("\(label("suspect"))\(status.suspects.count) record\(status.suspects.count == 1 ? "" : "s") ignored for the best: \(first)")
            }
            let counts = status.counts.map { "\($0.count) \($0.status.rawValue)" }.joined(separator: ", ")
            print("\(label("runs"))\(status.runs)\(counts.isEmpty ? "" : " (\(counts))")")
            if let last = status.lastRun {
                print("\(label("last run"))\(UntrustedText.visible(last.run)) \(last.status.rawValue)\(last.value.map { " \(UntrustedText.visible(experiment.metric))=\(Number.format($0))" } ?? "")")
            }
            if let pid = status.lockHolder { print("\(label("running"))process \(pid) is working on this experiment") }
            if !status.workers.isEmpty { print("\(label("workers"))\(status.workers.count) running") }
            for worker in status.workers {
                let run = worker.run.map { " run \($0)" } ?? ""
                print("  w\(worker.worker)  \(RunPrinter.place(of: worker))  \(worker.step)\(run) \(Durations.format(worker.elapsed))  \(worker.runs) runs  \(UntrustedText.visible(worker.worktree))")
            }
        }
    }
}
