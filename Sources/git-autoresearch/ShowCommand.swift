import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one run: its record, its artifacts, the last lines of its log, and the change it evaluated.",
            discussion: "The log lines are the ones kept in git (after the record in its note, refs/notes/autoresearch), so they are there for runs fetched from other machines too. The change is the diff of the run's commit against its parent, for discarded runs as well.")

        @Argument(help: ArgumentHelp("The run: its id or a unique part of it from either end, a commit (hash, branch, HEAD~2) with one run, or best, baseline, last.", valueName: "run"))
        var runID: String

        @Option(name: [.short, .long], help: "Look for the run in this experiment only (and take best, baseline, last from it; default: the current one).")
        var experiment: String?

        @Flag(help: "Leave out the diff.")
        var noPatch = false

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        mutating func run() throws {
            let workspace = try Workspace()
            let entry = try workspace.run(named: runID, experiment: experiment)
            let tail = try workspace.logTail(of: entry)
            let patch = noPatch ? "" : try workspace.patch(of: entry)
            let artifacts = try workspace.artifacts(of: entry)
            if format == .json {
                let files = artifacts.map { JSONValue.object([("path", .string($0.path)), ("size", .integer($0.size))]) }
                let added: [(String, JSONValue?)] = [("commit", .string(entry.commit.hex)), ("baseline", .bool(entry.record.isBaseline)),
                                                     ("delta", entry.record.delta.map(JSONValue.number)), ("record", .string(entry.record.line)),
                                                     ("log_tail", .array(tail.map(JSONValue.string))), ("patch", noPatch ? nil : .string(patch)),
                                                     ("artifact_files", artifacts.isEmpty ? nil : .array(files))]
                print(Terminal.json(entry.record.jsonFields + JSONValue.present(added)))
                return
            }
            print(Terminal.paint("run \(UntrustedText.visible(entry.record.run)) on \(entry.commit.hex)", .bold))
            print(UntrustedText.visible(entry.record.line))
            if !artifacts.isEmpty {
                print(Terminal.paint("\nartifacts (tree \(entry.record.artifacts!.prefix(7)); restore with: git autoresearch artifacts \(entry.record.run) --out DIR):", .bold))
                for artifact in artifacts { print("  \(UntrustedText.visible(artifact.path))  \(ByteCount.format(artifact.size))") }
            }
            if !tail.isEmpty {
                print(Terminal.paint("\nlast lines of the log:", .bold))
                for line in tail { print("  | \(UntrustedText.visible(line))") }
            }
            if !noPatch {
                print(Terminal.paint("\nchange:", .bold))
                let shown = patch.isEmpty ? "(no change against the parent commit)" : Self.painted(UntrustedText.visible(patch, multiline: true))
                print(shown, terminator: shown.hasSuffix("\n") ? "" : "\n")
            }
        }

        /// A patch coloured as `git diff` colours it: headers bold, hunks cyan, removed lines red,
        /// added lines green (when colour is on).
        static func painted(_ patch: String) -> String {
            guard Terminal.colorEnabled else { return patch }
            return patch.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                let text = String(line)
                if ["diff --git", "index ", "--- ", "+++ ", "new file", "deleted file", "similarity", "rename "].contains(where: text.hasPrefix) {
                    return Terminal.paint(text, .bold)
                }
                if text.hasPrefix("@@") { return Terminal.paint(text, .cyan) }
                if text.hasPrefix("+") { return Terminal.paint(text, .green) }
                if text.hasPrefix("-") { return Terminal.paint(text, .red) }
                return text
            }.joined(separator: "\n")
        }
    }
}
