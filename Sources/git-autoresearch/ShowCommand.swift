import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one run: its record, the last lines of its log, and the change it evaluated.",
            discussion: "The log lines are the ones kept in git (refs/notes/autoresearch-logs), so they are there for runs fetched from other machines too. The change is the diff of the run's commit against its parent, for discarded runs as well.")

        @Argument(help: "The run id (or a unique prefix of it).")
        var runID: String

        @Flag(help: "Leave out the diff.")
        var noPatch = false

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        mutating func run() throws {
            let workspace = try Workspace()
            let entry = try workspace.run(runID)
            let tail = try workspace.logTail(of: entry)
            let patch = noPatch ? "" : try workspace.patch(of: entry)
            if format == .json {
                print(Terminal.json(["run": entry.record.run, "experiment": entry.record.experiment, "commit": entry.commit.hex,
                                     "record": entry.record.line, "log_tail": tail, "patch": noPatch ? nil : patch]))
                return
            }
            print(Terminal.paint("run \(entry.record.run) on \(entry.commit.hex)", .bold))
            print(entry.record.line)
            if !tail.isEmpty {
                print(Terminal.paint("\nlast lines of the log:", .bold))
                for line in tail { print("  | \(line)") }
            }
            if !noPatch {
                print(Terminal.paint("\nchange:", .bold))
                print(patch.isEmpty ? "(no change against the parent commit)" : patch, terminator: patch.hasSuffix("\n") ? "" : "\n")
            }
        }
    }
}
