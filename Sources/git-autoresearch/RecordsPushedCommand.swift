import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    /// Hidden: the last step of a worker's job with `loop --worker-tree clone` (`CloneWorker`),
    /// which removes its clone only when this exits 0.
    struct RecordsPushed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "records-pushed",
            abstract: "Exit 0 when every record and attempts chain of this repository is on the remote, 1 (saying which is not) otherwise.",
            shouldDisplay: false)

        @Argument(help: "The remote: a configured remote's name, a URL or a path.")
        var remote = Workspace.cloneRemote

        mutating func run() throws {
            let unshared = try Workspace().unsharedRecords(remote: remote)
            guard unshared.isEmpty else {
                throw AutoresearchError("not on \(remote) yet: \(unshared.map(\.fullName).joined(separator: ", "))",
                                        hint: "run 'git autoresearch push \(remote)' here")
            }
        }
    }
}
