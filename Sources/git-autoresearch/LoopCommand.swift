import ArgumentParser
import Autoresearch
import CProcessSupport
import Foundation

extension GitAutoresearch {
    struct Loop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the agent-driven loop: the agent changes the code, each change is evaluated, kept or reset, and recorded.",
            discussion: """
            'run' evaluates the change you made; 'loop' lets an agent make the changes, over and over, \
            unattended. Each iteration: the agent command runs at the top of the work tree with the \
            experiment's context (AUTORESEARCH_PROMPT, AUTORESEARCH_HISTORY, AUTORESEARCH_DESCRIPTION_FILE, \
            ...; see docs/agents.md) under its time limit; what it changed (committed or not) becomes \
            one candidate, which is evaluated like 'run' does. An agent that changes nothing gives a \
            'noop' run; one that fails gives 'agent-error'; neither is evaluated. The first iteration \
            measures the baseline when there is none.

            The loop stops at --max-runs, --max-time (no run starts after it), --patience runs in a row \
            without a keep, --max-crashes failures in a row (crash, timeout, no-metric, agent-error, rejected; \
            default 5, 0 for no limit), or Ctrl-C / SIGTERM (the running step is stopped, recorded as \
            interrupted, and the branch reset to the best commit; a second Ctrl-C exits at once, and \
            the next command repairs what is left). It then prints a summary.

            Exit codes: 0 --max-runs reached, 20 --max-time reached, 21 --patience exhausted, \
            22 --max-crashes reached, 130 interrupted, 1 error, 64 usage error.
            """)

        @OptionGroup var target: ExperimentOption

        @Option(help: "Agent command (default: the experiment's configured agent).")
        var agent: String?

        @Option(name: .customLong("agent-timeout"), help: "Hard limit of one agent step (default: the experiment's agentTimeout, 30m).")
        var agentTimeout: String?

        @Option(name: .customLong("max-runs"), help: "Stop after this many runs.")
        var maxRuns: Int?

        @Option(name: .customLong("max-time"), help: "Start no run after this much time, e.g. 8h (the running one finishes).")
        var maxTime: String?

        @Option(help: "Stop after this many runs in a row without an improvement.")
        var patience: Int?

        @Option(name: .customLong("max-crashes"), help: "Stop after this many failures in a row (0: never).")
        var maxCrashes: Int = LoopOptions.defaultMaxCrashes

        @Option(help: "Output: text (one line per run, then a summary) or json (one object per run, then a summary object).")
        var format: OutputFormat = .text

        @Flag(name: [.short, .long], help: "Print nothing but errors.")
        var quiet = false

        func validate() throws {
            for (flag, value) in [("--max-runs", maxRuns), ("--patience", patience)] where (value ?? 1) < 1 {
                throw ValidationError("\(flag) must be at least 1")
            }
            if maxCrashes < 0 { throw ValidationError("--max-crashes must be 0 (no limit) or more") }
        }

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            var options = LoopOptions()
            options.agent = agent
            options.agentTimeout = try agentTimeout.map(Durations.parse)
            options.maxRuns = maxRuns
            options.maxTime = try maxTime.map(Durations.parse)
            options.patience = patience
            options.maxCrashes = maxCrashes
            cps_install_interrupt_handlers()
            let (format, quiet) = (format, quiet)
            let summary = try workspace.loop(experiment: name, options: options,
                                             events: RunPrinter.events(quiet: quiet || format == .json, silent: quiet)) {
                RunPrinter.report($0, format: format, quiet: quiet)
            }
            RunPrinter.report(summary, options: options, format: format, quiet: quiet)
            let code = RunPrinter.exitCode(summary.stop)
            if code != 0 { throw ExitCode(code) }
        }
    }
}
