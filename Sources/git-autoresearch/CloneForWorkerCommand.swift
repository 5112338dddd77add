import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    /// Hidden: the first step of a worker's job with `loop --worker-tree clone` (`CloneWorker`),
    /// so that the nodes need no `git`.
    struct CloneForWorker: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clone-for-worker",
            abstract: "Clone a remote's experiment branch, records and attempts into a new directory, as the jobs of 'loop --worker-tree clone' do.",
            shouldDisplay: false)

        @Option(name: [.short, .long], help: "The experiment whose branch is cloned and checked out.")
        var experiment: String

        @Argument(help: "The remote's URL or path; the clone calls it origin.")
        var url: String

        @Argument(help: "The directory to clone into: absent or empty.")
        var directory: String

        mutating func run() throws {
            _ = try Workspace.clone(url, experiment: experiment, into: URL(fileURLWithPath: directory).path, notice: Terminal.notice)
        }
    }
}
