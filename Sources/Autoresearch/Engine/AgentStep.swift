import Foundation
import Git

/// How `loop` runs the agent.
struct AgentInvocation {
    /// The shell command (`/bin/sh -c`, at the work tree's top).
    var command: String
    /// The hard limit of one agent step.
    var timeout: Double
    /// The 1-based number of this iteration in the loop.
    var iteration: Int
    /// The latest runs, newest first (at most `AgentContext.historyLimit`), kept by the loop
    /// so that the ledger is read once per loop, not once per iteration.
    var history: [RunEntry]
}

/// What the agent step ended with.
enum AgentStepResult {
    /// The agent finished (its step took `duration` seconds); its change (if any) is in the
    /// work tree or on the branch.
    case changed(description: String, duration: Double)
    /// The run ended without an evaluation (agent failed or was interrupted) and is recorded.
    case settled(RunOutcome)
}

/// The files handed to the agent, under `.git/autoresearch/NAME/agent/`: the prompt (program
/// plus context), the recent history as TSV, and the path where it may describe its change.
struct AgentContext {
    static let historyLimit = 50

    let promptPath: String
    let historyPath: String
    let descriptionPath: String

    init(state: LocalState) {
        promptPath = state.agentDirectory + "/prompt.md"
        historyPath = state.agentDirectory + "/history.tsv"
        descriptionPath = state.agentDirectory + "/description.txt"
    }

    /// Writes the history and the prompt, and removes an old description.
    func write(experiment: Experiment, run: String, best: RunEntry, program: String?,
               guarded: GuardedPaths, history: [RunEntry]) throws {
        // Foundation's `replacingOccurrences` only where there is something to replace: 20 rows
        // of 5 cells are written at every iteration (it was a twelfth of a loop iteration).
        let clean = { (text: String) -> String in
            let separator: (Unicode.Scalar) -> Bool = { $0 == "\t" || $0 == "\n" }
            guard text.unicodeScalars.contains(where: separator) else { return text }
            return String(String.UnicodeScalarView(text.unicodeScalars.map { separator($0) ? " " : $0 }))
        }
        let rows = history.reversed().map { run in
            [run.commit.short, run.record.value.map(RunRecord.format) ?? "", run.record.status.rawValue,
             clean(run.record.description), run.record.run]
        }
        let tsv = ([["commit", experiment.metric, "status", "description", "run"]] + rows)
            .map { $0.joined(separator: "\t") }.joined(separator: "\n") + "\n"
        try AgentContext.replace(historyPath, with: tsv)
        // The agent may have left a directory there; `unlink` first, which is all a file needs.
        if unlink(descriptionPath) != 0, errno != ENOENT { try? FileManager.default.removeItem(atPath: descriptionPath) }

        let bestValue = best.record.value.map(RunRecord.format) ?? "?"
        let protected = guarded.patterns.map { "`\($0)`" }.joined(separator: ", ")
        var prompt = (program ?? "Improve the metric below by changing the code in this repository.\n")
        if !prompt.hasSuffix("\n") { prompt += "\n" }
        prompt += """

        ## Context from git-autoresearch (run \(run))

        - Experiment `\(experiment.name)`: `\(experiment.evaluate)` prints `\(experiment.metric)`; \(experiment.direction.rawValue) is better. Each evaluation has a budget of \(Durations.format(experiment.budget)).
        - Best so far: \(experiment.metric) = \(bestValue) at commit \(best.commit.short).
        - Make one focused change to the files in this directory. Commit it on the current branch or leave it uncommitted: the change is snapshotted, evaluated, kept if \(experiment.metric) improves, and reset otherwise (it stays retrievable).
        - Do not change \(protected): a change to them is rejected without evaluation.
        - Write a one-line description of your change to \(descriptionPath)
        - Recent runs, newest last (also in \(historyPath), tab-separated):

        | commit | \(experiment.metric) | status | description |
        |---|---|---|---|

        """
        for row in rows {
            prompt += "| " + row.prefix(4).map { $0.utf8.contains(UInt8(ascii: "|")) ? $0.replacingOccurrences(of: "|", with: "\\|") : $0 }
                .joined(separator: " | ") + " |\n"
        }
        if rows.isEmpty { prompt += "| (none yet) | | | |\n" }
        try AgentContext.replace(promptPath, with: prompt)
    }

    /// Replaces the file at `path` with `text`, without fsync (`LocalFile`): the agent's context is
    /// written anew at every iteration.
    private static func replace(_ path: String, with text: String) throws {
        guard LocalFile.replace(path, with: Array(text.utf8)) else {
            throw AutoresearchError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The first line the agent wrote to the description file, if any.
    func readDescription() -> String {
        guard let bytes = LocalFile.read(descriptionPath, atMost: 64 << 10) else { return "" }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }
}

extension ExperimentContext {
    /// Runs the agent under its time limit with the experiment's context, in a marked iteration
    /// (so a kill during the step is repaired). A failed or interrupted step is settled here:
    /// what the agent left is kept on the attempts chain, the run recorded, the branch reset.
    func agentStep(_ agent: AgentInvocation, experiment: Experiment, run: String, best: RunEntry, branch: ReferenceName, base: OID,
                   guarded: GuardedPaths) throws -> AgentStepResult {
        let context = AgentContext(state: state)
        try context.write(experiment: experiment, run: run, best: best, program: try committedProgram(of: experiment, in: guarded),
                          guarded: guarded, history: agent.history)
        let environment = ChildEnvironment(agent: agent, experiment: experiment, run: run, best: best, context: context,
                                           workTree: root)
        var marker = LocalState.Marker(phase: .agent, run: run, candidate: base.hex, best: base.hex,
                                       branch: branch.fullName, start: Date(), description: "", userFiles: markedUserFiles,
                                       workerInClone: workerInClone)
        try state.writeMarker(marker)
        events.agentStarted(run, experiment)
        let logPath = state.agentLogPath(run: run)
        let result = try GroupProcess.run(agent.command, in: root, environment: environment.variables, hardLimit: agent.timeout,
                                          grace: experiment.grace, logPath: logPath, logLimit: experiment.logLimit,
                                          onStart: { group in
                                              marker.recordProcessGroup(ledBy: group)
                                              try state.writeMarker(marker)
                                          },
                                          onProgress: {
                                              events.progress(StepProgress(step: .agent, run: run, elapsed: $0.elapsed, budget: agent.timeout,
                                                                           limit: agent.timeout, lastLine: $0.lastLine))
                                          },
                                          isInterrupted: events.isInterrupted)
        marker.description = context.readDescription()
        // A scheduler stopping a worker signals the agent too: an agent that ended while the tool
        // was being stopped is interrupted, whatever its end.
        let failure = result.termination != .interrupted && events.isInterrupted()
            ? CommandFailure(.interrupted, "stopped by the user after the agent step")
            : CommandFailure(result, of: .agent, limit: agent.timeout, logLimit: experiment.logLimit)
        try requireHeadOnBranch(after: marker)
        guard let failure else { return .changed(description: marker.description, duration: result.duration) }
        let settled = try settle(marker, status: failure.status,
                                 reason: failure.reason, exitCode: failure.exitCode, logTail: result.tail)
        return .settled(RunOutcome(record: settled.record, commit: settled.commit, bestBefore: best.commit,
                                   logPath: logPath, tail: result.tail))
    }

    /// The agent's program (its `program` file as committed in the guarded tree), if it has one.
    private func committedProgram(of experiment: Experiment, in guarded: GuardedPaths) throws -> String? {
        try experiment.program.flatMap { path -> String? in
            guard let entry = try repository.entry(inTree: guarded.tree, path: path), entry.kind == .blob else { return nil }
            return String(decoding: try repository.blob(entry.id), as: UTF8.self)
        }
    }

    /// Stops the loop when the agent left HEAD off the branch of the iteration `marker` marks,
    /// after settling the run (its commits are kept as an attempt; the work tree is not touched).
    private func requireHeadOnBranch(after marker: LocalState.Marker) throws {
        guard case .branch(marker.branchName, _) = try repository.head() else {
            _ = try settle(marker, status: .agentError, reason: "the agent moved HEAD off the experiment branch")
            let branchName = marker.branchName.shortBranchName
            throw AutoresearchError("the agent left HEAD off \(branchName); the loop stopped (its commits on \(branchName) were kept as an attempt, the work tree was not touched)",
                                    hint: "git switch \(branchName), then start the loop again; the agent may commit, but on the current branch")
        }
    }

    /// Records a run whose agent changed nothing, on the best commit (linked from the attempts
    /// chain so the history shows it), and ends the iteration.
    func recordNoop(experiment: Experiment, run: String, best: RunEntry, description: String) throws -> RunOutcome {
        let record = unevaluatedRecord(.noop, reason: "the agent changed nothing", experiment: experiment, run: run,
                                       bestBefore: best.record.value, marker: state.readMarker(), description: description)
        try ledger.recordAttempt(best.commit, experiment: experiment.name, run: run)
        try ledger.append(record, on: best.commit)
        state.removeMarker()
        return RunOutcome(record: record, commit: best.commit, bestBefore: best.commit,
                          logPath: state.agentLogPath(run: run), tail: [])
    }
}

extension ChildEnvironment {
    /// The agent's environment: what it runs for, its limits, and the files of `context`.
    init(agent: AgentInvocation, experiment: Experiment, run: String, best: RunEntry, context: AgentContext,
         workTree root: String) {
        self.init(experiment: experiment, run: run, best: best.record.value)
        set("ITERATION", String(agent.iteration))
        set("BEST_COMMIT", best.commit.hex)
        set("BUDGET_SECONDS", seconds: experiment.budget)
        set("AGENT_TIMEOUT_SECONDS", seconds: agent.timeout)
        set("PROGRAM", experiment.program.map { root + "/" + $0 } ?? "")
        set("PROMPT", context.promptPath)
        set("HISTORY", context.historyPath)
        set("DESCRIPTION_FILE", context.descriptionPath)
    }
}
