import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct InstallHooks: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install-hooks",
            abstract: "Install the pre-commit hook that refuses commits changing guarded paths on experiment branches.",
            discussion: """
            Writes hooks/pre-commit of git-autoresearch into the hooks directory git uses \
            (core.hooksPath if set, else .git/hooks). A pre-commit hook already there is kept as \
            pre-commit.before-autoresearch and run first; running install-hooks again updates ours. \
            The tool's own commits (libgit2) run no hooks and are checked by the tool itself.
            """)

        mutating func run() throws {
            let installed = try Workspace().installHooks()
            print("\(installed.updated ? "Updated" : "Installed") the pre-commit hook: \(installed.path)")
            if let chained = installed.chained { print("The hook that was there runs first, from \(chained)") }
        }
    }
}
