import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Artifacts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "artifacts",
            abstract: "List the artifacts stored with a run, or restore them into a directory.",
            discussion: """
            Artifacts are the files matching the experiment's 'artifact' globs that the evaluation wrote. \
            They are stored in git as a tree linked from refs/autoresearch/NAME/attempts, so they travel \
            with 'push' and 'pull'. --out refuses to replace a file that exists and writes nothing then.
            """)

        @Argument(help: ArgumentHelp("The run: its id or a unique part of it from either end, a commit (hash, branch, HEAD~2) with one run, or best, baseline, last.", valueName: "run"))
        var runID: String

        @Option(name: [.short, .long], help: "Look for the run in this experiment only (and take best, baseline, last from it; default: the current one).")
        var experiment: String?

        @Option(help: "Write the artifacts under this directory (created when missing).")
        var out: String?

        mutating func run() throws {
            let workspace = try Workspace()
            let entry = try workspace.run(named: runID, experiment: experiment)
            let artifacts: [Autoresearch.Artifact]
            if let out {
                artifacts = try workspace.restoreArtifacts(of: entry, to: out)
            } else {
                artifacts = try workspace.artifacts(of: entry)
                if artifacts.isEmpty {
                    print("run \(entry.record.run) has no artifacts")
                    return
                }
            }
            for artifact in artifacts { print("\(out.map { $0 + "/" } ?? "")\(UntrustedText.visible(artifact.path))\t\(artifact.size)") }
        }
    }
}
