import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// When to colour, as git's `--color=WHEN` and `color.*` settings say it.
enum ColorChoice {
    case always, never, auto

    /// git's spellings: `always`, `never`, `auto`, and booleans (`true` is `auto`, as in git).
    init?(_ text: String) {
        switch text.lowercased() {
        case "always": self = .always
        case "never", "false", "no", "off", "0": self = .never
        case "auto", "true", "yes", "on", "1", "": self = .auto
        default: return nil
        }
    }
}

/// The options every subcommand takes, before or after its name, as git's own: `--color[=WHEN]`,
/// `--no-color`, `--no-pager` (`-P`, as `git -P`). Taken out of the arguments before parsing.
struct GlobalFlags {
    var color: ColorChoice?
    var noPager = false

    /// Help text for the root command.
    static let help = "Every subcommand takes --color[=always|never|auto], --no-color and --no-pager (-P)."

    /// The flags in `arguments` (up to a `--`), and the arguments left.
    static func extract(from arguments: [String]) throws -> (flags: GlobalFlags, rest: [String]) {
        var flags = GlobalFlags()
        var rest: [String] = []
        var ended = false
        for argument in arguments {
            if ended || argument == "--" {
                ended = true
                rest.append(argument)
                continue
            }
            switch argument {
            case "--color": flags.color = .always
            case "--no-color": flags.color = .never
            case "--no-pager", "-P": flags.noPager = true
            case _ where argument.hasPrefix("--color="):
                let when = String(argument.dropFirst("--color=".count))
                guard let choice = ColorChoice(when), !when.isEmpty else {
                    throw AutoresearchUsage("invalid --color value '\(when)': use always, never or auto")
                }
                flags.color = choice
            default: rest.append(argument)
            }
        }
        return (flags, rest)
    }
}

/// A usage error found before the arguments reach the parser.
struct AutoresearchUsage: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// git's configuration as the tool's output sees it: the repository's (opened as for the
/// command, `git -c` included), else the user's and the system's.
enum OutputConfig {
    nonisolated(unsafe) private static let repository = try? Repository(gitEnvironment: ProcessInfo.processInfo.environment,
                                                                         directory: FileManager.default.currentDirectoryPath)

    static func value(_ key: String) -> String? {
        if let repository { return try? repository.configValue(key) }
        return try? Repository.globalConfigValue(key)
    }

    /// git's booleans: true for `true`/`yes`/`on`/`1` (and a key without value), false for
    /// `false`/`no`/`off`/`0`, nil for anything else.
    static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on", "1", "": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }
}

/// Whether to colour: `--color`/`--no-color`, else `color.autoresearch`, else `color.ui`, else
/// `NO_COLOR`; `auto` colours a terminal or a pager. `AUTORESEARCH_COLOR=always` (the workers of
/// a loop on a terminal print through a pipe) counts as `--color`.
func decideColor(flag: ColorChoice?, paged: Bool) -> Bool {
    let environment = ProcessInfo.processInfo.environment
    let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
    // `??` evaluates its right side only when needed: a flag spares reading the configuration.
    let choice = flag ?? (environment["AUTORESEARCH_COLOR"] == "always" ? .always : nil)
        ?? (OutputConfig.value("color.autoresearch") ?? OutputConfig.value("color.ui")).flatMap(ColorChoice.init)
        ?? (noColor ? .never : .auto)
    switch choice {
    case .always: return true
    case .never: return false
    case .auto: return (Terminal.stdoutIsTTY || paged) && environment["TERM"] != "dumb"
    }
}

/// git's pager for long human output: only when stdout is a terminal and no pager runs yet
/// (`git -p` sets `GIT_PAGER_IN_USE`); the command from `pager.autoresearch.<cmd>` or
/// `pager.autoresearch` when set to one (`false` turns paging off), else `GIT_PAGER`,
/// `core.pager`, `PAGER`, `less`; none for an empty command or `cat`. `LESS=FRX` and `LV=-c`
/// unless set, as git does.
enum Pager {
    nonisolated(unsafe) private static var pid: pid_t = 0

    /// Starts the pager for subcommand `command` when git would; returns whether it did.
    static func start(for command: String) -> Bool {
        let environment = ProcessInfo.processInfo.environment
        let pagerInUse = environment["GIT_PAGER_IN_USE"].map { OutputConfig.boolean($0) ?? true } ?? false
        guard Terminal.stdoutIsTTY, !pagerInUse else { return false }
        var program = environment["GIT_PAGER"]
        if let setting = OutputConfig.value("pager.autoresearch.\(command)") ?? OutputConfig.value("pager.autoresearch") {
            switch OutputConfig.boolean(setting) {
            case false?: return false
            case true?: break
            case nil: program = program ?? setting
            }
        }
        program = program ?? OutputConfig.value("core.pager") ?? environment["PAGER"] ?? "less"
        guard let program, !program.trimmingCharacters(in: .whitespaces).isEmpty, program != "cat" else { return false }
        return spawn(program)
    }

    /// Runs `sh -c PROGRAM` reading a pipe that becomes our stdout (and stderr, when a terminal).
    private static func spawn(_ program: String) -> Bool {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return false }
        setenv("LESS", ProcessInfo.processInfo.environment["LESS"] ?? "FRX", 1)
        setenv("LV", ProcessInfo.processInfo.environment["LV"] ?? "-c", 1)
        setenv("GIT_PAGER_IN_USE", "true", 1)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let words = ["/bin/sh", "-c", program]
        let argv = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let started = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ) == 0
        close(fds[0])
        guard started else { close(fds[1]); return false }
        fflush(nil)
        dup2(fds[1], STDOUT_FILENO)
        if Terminal.stderrIsTTY { dup2(fds[1], STDERR_FILENO) }
        close(fds[1])
        atexit { Pager.finish() }
        return true
    }

    /// Closes our end of the pipe and waits for the reader to quit.
    private static func finish() {
        guard pid > 0 else { return }
        fflush(nil)
        close(STDOUT_FILENO)
        close(STDERR_FILENO)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        pid = 0
    }
}

/// A subcommand whose human output can be long: it goes through the pager on a terminal.
protocol PagedOutput {}

extension GitAutoresearch.Log: PagedOutput {}
extension GitAutoresearch.Show: PagedOutput {}
extension GitAutoresearch.Report: PagedOutput {}
