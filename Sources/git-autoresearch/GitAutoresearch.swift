import ArgumentParser
import Autoresearch
import Foundation
import Git

@main
struct GitAutoresearch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "git-autoresearch",
        abstract: "Run autoresearch loops in git: snapshot a change, evaluate it under a time budget, keep it or reset it, and record every run in git notes.",
        discussion: """
        'run' evaluates a change you made; 'loop' has an agent make changes, over and over. \
        Records live in refs/notes/autoresearch (see them with: git log --notes=autoresearch). \
        Exit codes of 'run': 0 keep, 10 discard, 11 crash, 12 timeout, 13 no-metric, \
        14 nothing to evaluate, 16 rejected, 130 interrupted. Of 'loop': 0 --max-runs, 20 --max-time, \
        21 --patience, 22 --max-crashes, 130 interrupted. 1 for errors, 64 for usage errors. \
        \(GlobalFlags.help) Colour follows color.autoresearch, color.ui, NO_COLOR; log, show and report \
        go through git's pager on a terminal (GIT_PAGER, pager.autoresearch, core.pager, PAGER, less).
        """,
        version: "0.1.0",
        subcommands: [Init.self, Run.self, Loop.self, Status.self, List.self, Log.self, Show.self, Diff.self, Artifacts.self, Report.self, Best.self, Promote.self, Export.self, Import.self, Push.self, Pull.self, Adopt.self, Prune.self, Guard.self, InstallHooks.self, Rebase.self, Demo.self, Completion.self, CloneForWorker.self, RecordsPushed.self]
    )

    /// Parses and runs a subcommand; errors the user can act on are printed git-style
    /// (`error: ...` then `hint: ...`) with exit code 1.
    static func main() {
        do {
            let (flags, arguments) = try GlobalFlags.extract(from: Array(CommandLine.arguments.dropFirst()))
            var command = try parseAsRoot(arguments)
            let paged = command is PagedOutput && !flags.noPager && Pager.start(for: type(of: command)._commandName)
            Terminal.colorDecision = { decideColor(flag: flags.color, paged: paged) }
            try command.run()
        } catch let error as AutoresearchError {
            Terminal.error(error.message, hint: error.hint)
            Foundation.exit(1)
        } catch let error as GitError {
            Terminal.error(error.description, hint: nil)
            Foundation.exit(1)
        } catch let code as ExitCode {
            // A command's own exit status (a discard, a timeout): nothing to print.
            Foundation.exit(code.rawValue)
        } catch let error as AutoresearchUsage {
            Terminal.error(error.description, hint: "see git autoresearch --help")
            Foundation.exit(64)
        } catch {
            exitShowingControls(error)
        }
    }

    /// `exit(withError:)`, with the control characters of the message made visible: a usage
    /// error echoes the arguments given.
    private static func exitShowingControls(_ error: Error) -> Never {
        var message = UntrustedText.visible(fullMessage(for: error), multiline: true)
        // ArgumentParser writes "Error: "; git and the tool's own messages write "error: ".
        if message.hasPrefix("Error: ") { message = "error: " + message.dropFirst("Error: ".count) }
        let code = exitCode(for: error)
        if !message.isEmpty {
            (code == .success ? FileHandle.standardOutput : FileHandle.standardError).write(Data((message + "\n").utf8))
        }
        Foundation.exit(code.rawValue)
    }
}

/// How results are printed.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// `--format` and `--quiet`, shared by the subcommands that run evaluations (`run`, `loop`).
struct OutputOptions: ParsableArguments {
    @Option(help: "Output: text (one line per run; a loop ends with a summary) or json (one object per run; a loop ends with a summary object).")
    var format: OutputFormat = .text

    @Flag(name: [.short, .long], help: "Print nothing but errors, and the line that says how to bring back the files a reset took from the work tree.")
    var quiet = false

    /// The same options as command-line arguments, for a process started with them.
    var arguments: [String] { ["--format", format.rawValue] + (quiet ? ["--quiet"] : []) }
}

/// `--experiment NAME`, shared by the subcommands that work on one experiment.
struct ExperimentOption: ParsableArguments {
    @Option(name: [.short, .long], help: "The experiment (default: the one HEAD is on, or the only one).")
    var experiment: String?

    /// The repository of the current directory and the experiment meant.
    func resolve() throws -> (workspace: Workspace, name: String) {
        let workspace = try Workspace()
        return (workspace, try workspace.resolveExperimentName(experiment))
    }
}
