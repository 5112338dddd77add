import ArgumentParser
import Autoresearch
import CProcessSupport
import Foundation

extension GitAutoresearch {
    struct Loop: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "loop",
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

            With --jobs N, N workers run at once, each in its own work tree under \
            .git/autoresearch/NAME/workers/ on its own branch, each iteration starting from the \
            experiment branch's tip; a worker that beats the best advances the branch (a candidate \
            beaten meanwhile by another worker is compared again first). Each worker sees \
            AUTORESEARCH_WORKER=0..N-1 and the --worker-env settings; --max-runs counts the runs of \
            all workers. With --launcher slurm each worker is one sbatch job (--launcher-arg and the \
            experiment's launcherArgs add sbatch options) running in its work tree, which must be on a file \
            system the nodes share; a job the scheduler ends is recorded and submitted again (up to 3 times), \
            and Ctrl-C cancels the jobs; without a shared file system, --worker-tree clone --sync REMOTE has each job \
            clone REMOTE into node-local scratch, push every run there and remove its clone at the end (each job gets \
            its share of --max-runs). With --sync REMOTE the loop pulls before each run (adopting a better best \
            found elsewhere, measured with the same evaluator and configuration; the next run measures \
            it again here unless --trust-remote-best) and pushes after each keep and every \
            --push-every runs. See docs/scale-out.md and docs/security.md.

            Exit codes: 0 --max-runs reached, 20 --max-time reached, 21 --patience exhausted, \
            22 --max-crashes reached, 130 interrupted, 1 error (or a worker's error), 64 usage error.
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

        @Option(name: [.short, .long], help: "Run this many workers at once, each in its own work tree.")
        var jobs = 1

        @Option(name: .customLong("worker-env"), help: ArgumentHelp("Set KEY=VALUE in each worker's environment, {worker} replaced by its number (repeatable), e.g. 'CUDA_VISIBLE_DEVICES={worker}'.", valueName: "KEY=VALUE"))
        var workerEnvironment: [String] = []

        @Option(help: ArgumentHelp("Share through this remote (a name, a URL or a path): pull before each run, push after each keep and every --push-every runs.", valueName: "REMOTE"))
        var sync: String?

        @Option(name: .customLong("push-every"), help: "With --sync: push at least every this many runs.")
        var pushEvery = 5

        @Flag(name: .customLong("trust-remote-best"), help: "With --sync: take a best adopted from the remote as measured there (by default the next run measures it again here, as a recheck).")
        var trustRemoteBest = false

        @Option(help: ArgumentHelp("Where the workers run: 'local' (processes on this machine) or 'slurm' (one sbatch job per worker, even with --jobs 1).", valueName: "NAME"))
        var launcher = "local"

        @Option(name: .customLong("launcher-arg"), parsing: .unconditionalSingleValue,
                help: ArgumentHelp("With --launcher slurm: an sbatch option for each worker, with its value (repeatable), e.g. --launcher-arg=--gres=gpu:1; added to the experiment's launcherArgs.", valueName: "OPTION"))
        var launcherArguments: [String] = []

        @Option(name: .customLong("worker-tree"), help: ArgumentHelp("With --launcher slurm: 'shared' (each worker in a work tree of this repository, on a file system the nodes share) or 'clone' (each worker clones the --sync remote into node-local scratch, syncs through it, and removes its clone at the end).", valueName: "KIND"))
        var workerTree = "shared"

        /// Set in a parallel worker's process: where its loop wrote its options.
        @Option(name: .customLong("worker-options"), help: .hidden)
        var workerOptions: String?

        @OptionGroup var output: OutputOptions

        func validate() throws {
            for (flag, value) in [("--max-runs", maxRuns), ("--patience", patience)] where (value ?? 1) < 1 {
                throw ValidationError("\(flag) must be at least 1")
            }
            if maxCrashes < 0 { throw ValidationError("--max-crashes must be 0 (no limit) or more") }
            if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
            if pushEvery < 1 { throw ValidationError("--push-every must be at least 1") }
            if jobs == 1, launcher == "local", !workerEnvironment.isEmpty { throw ValidationError("--worker-env needs --jobs 2 or more") }
            if !Launchers.names.contains(launcher) {
                throw ValidationError("--launcher takes \(Launchers.names.joined(separator: " or ")), got '\(launcher)'")
            }
            if launcher == "local", !launcherArguments.isEmpty { throw ValidationError("--launcher-arg needs --launcher slurm") }
            guard let tree = WorkerTree(rawValue: workerTree) else { throw ValidationError("--worker-tree takes shared or clone, got '\(workerTree)'") }
            if tree == .clone, launcher == "local" { throw ValidationError("--worker-tree clone needs --launcher slurm") }
            if tree == .clone, sync == nil { throw ValidationError("--worker-tree clone needs --sync REMOTE: the workers share their runs through it") }
            for setting in workerEnvironment where !setting.contains("=") || setting.hasPrefix("=") {
                throw ValidationError("--worker-env takes KEY=VALUE, got '\(setting)'")
            }
        }

        /// The loop's options from the command line, or a worker's from its options file.
        private func loopOptions() throws -> LoopOptions {
            if let workerOptions { return try LoopOptions(contentsOf: workerOptions) }
            var options = LoopOptions()
            options.agent = agent
            options.agentTimeout = try agentTimeout.map(Durations.parse)
            options.maxRuns = maxRuns
            options.maxTime = try maxTime.map(Durations.parse)
            options.patience = patience
            options.maxCrashes = maxCrashes
            options.sync = sync
            options.pushEvery = pushEvery
            options.trustRemoteBest = trustRemoteBest
            return options
        }

        mutating func run() throws {
            if workerOptions != nil {
                // A worker works in its own work tree, not in the one `git --git-dir`/`--work-tree`
                // named for the loop; neither it nor its agent and evaluator may see them.
                unsetenv("GIT_DIR")
                unsetenv("GIT_WORK_TREE")
            }
            let (workspace, name) = try target.resolve()
            let options = try loopOptions()
            let worker = options.worker
            if let worker { Terminal.linePrefix = "[w\(worker)] " }
            cps_install_interrupt_handlers()
            let (format, quiet) = (output.format, output.quiet)
            // Workers print through this loop, which keeps one progress line for all; they print no
            // progress line and no summary of their own.
            let events = RunPrinter.events(quiet: quiet || format == .json || worker != nil, silent: quiet)
            let print = { RunPrinter.report($0, format: format, quiet: quiet) }
            let summary: LoopSummary
            if jobs > 1 || launcher != "local" {
                let colour = Terminal.colorEnabled && format == .text ? ["AUTORESEARCH_COLOR=always"] : []
                var launch = WorkerLaunch(jobs: jobs, environment: workerEnvironment + colour,
                                          launcher: try workerLauncher(workspace.experiment(named: name))) { [output] _, optionsFile in
                    Self.workerCommand(experiment: name, optionsFile: optionsFile, output: output)
                }
                launch.workerTree = WorkerTree(rawValue: workerTree) ?? .shared
                launch.program = Self.executablePath
                summary = try workspace.loopInParallel(experiment: name, options: options, launch: launch, events: events, onRun: print)
            } else {
                summary = try workspace.loop(experiment: name, options: options, events: events, onRun: print)
            }
            if worker == nil { RunPrinter.report(summary, options: options, format: format, quiet: quiet) }
            let code = RunPrinter.exitCode(summary.stop)
            if code != 0 { throw ExitCode(code) }
        }

        /// The launcher `--launcher` names, with the experiment's `launcherArgs` and the `--launcher-arg` options.
        private func workerLauncher(_ experiment: Experiment) throws -> WorkerLauncher {
            let arguments = experiment.launcherArgs + launcherArguments
            if launcher == "slurm" { try SlurmLauncher.check(arguments: arguments) }
            guard let workerLauncher = Launchers.named(launcher, arguments: arguments) else { throw ValidationError("unknown launcher '\(launcher)'") }
            return workerLauncher
        }

        /// The command line of a worker: this program's `loop` reading the options its loop wrote.
        private static func workerCommand(experiment: String, optionsFile: String, output: OutputOptions) -> String {
            let arguments = [executablePath, "loop", "--experiment", experiment, "--worker-options", optionsFile] + output.arguments
            return "exec " + arguments.map(ShellText.quoted).joined(separator: " ")
        }

        /// This program's path, as the kernel knows it.
        private static var executablePath: String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        }
    }
}
