import CProcessSupport
import Foundation
import Git

/// What one run produced.
public struct RunOutcome: Sendable {
    public let record: RunRecord
    /// The evaluated commit.
    public let commit: OID
    /// The best commit before the run (nil for the baseline).
    public let bestBefore: OID?
    public let logPath: String
    /// The last lines of the evaluation's output.
    public let tail: [String]
    /// What the user may do next, for a run that was not evaluated (a rejected candidate).
    public var hint: String? = nil
    /// How long the agent step took, in seconds, when the run had one that made its candidate.
    public var agentDuration: Double? = nil
}

/// Which step of an iteration is running.
public enum Step: String, Sendable {
    case agent, evaluation
}

/// Progress of the agent step or the evaluation, about once a second.
public struct StepProgress: Sendable {
    public let step: Step
    public let run: String
    public let elapsed: Double
    /// The time the step is meant to take (the budget; for the agent, its limit).
    public let budget: Double
    /// The hard limit.
    public let limit: Double
    public let lastLine: String?
    /// Which part of a staged evaluation runs (`smoke`, `repeat 2/5`, `target gsm8k (1/3)`); nil for a plain one.
    public var detail: String? = nil
}

/// Things a run reports while it goes, for the front end to show.
public struct RunEvents {
    /// Something the user should know (a branch switch, a repaired interruption).
    public var notice: (String) -> Void = { _ in }
    /// What the user must see even where notices are silenced (`--quiet`): how to bring back the
    /// files a reset took from the work tree. Nil: `notice`.
    public var mustSee: ((String) -> Void)?
    /// The agent step of run `run` starts.
    public var agentStarted: (_ run: String, _ experiment: Experiment) -> Void = { _, _ in }
    /// The candidate is committed and its evaluation starts.
    public var started: (_ run: String, _ experiment: Experiment, _ candidate: OID, _ isBaseline: Bool) -> Void = { _, _, _, _ in }
    /// About once a second while the agent or the evaluation runs.
    public var progress: (StepProgress) -> Void = { _ in }
    /// Polled while a step runs; true stops it (status `interrupted`).
    public var isInterrupted: () -> Bool = { cps_interrupt_count() > 0 }
    /// A line a parallel worker printed (`isError`: on its stderr), for the front end to show.
    public var workerOutput: (_ line: Substring, _ isError: Bool) -> Void = { line, isError in
        FileHandle(fileDescriptor: isError ? STDERR_FILENO : STDOUT_FILENO).write(Data((line + "\n").utf8))
    }
    /// About once a second while parallel workers run: what each live worker is doing.
    public var workersProgress: ([WorkerState]) -> Void = { _ in }

    public init() {}
}

/// The result of asking for one run.
public enum RunResult: Sendable {
    case ran(RunOutcome)
    /// The work tree and branch are at the best commit: there is no candidate.
    case nothingToEvaluate(best: OID)
}

extension Workspace {
    /// Runs one iteration of an experiment: snapshot, evaluate, decide, record, reset on discard.
    ///
    /// The candidate is whatever the work tree holds on top of the experiment branch (committed
    /// with libgit2 as one commit; files the tool wrote left out), or commits already on the
    /// branch beyond the best. A discard says how to bring back the files it took from the work tree. The
    /// evaluation runs under the experiment's hard limit; the record goes in the ledger; a
    /// candidate that is not better is reset away (it stays reachable from the attempts ref).
    public func runOnce(experiment name: String, message: String? = nil, events: RunEvents = RunEvents()) throws -> RunResult {
        let context = context(name, events: events)
        return try context.withLock {
            try context.announceFilesLeftAlone()
            return try context.iterate(message: message, agent: nil)
        }
    }

    /// This machine's name, for records (looked up once: Foundation may ask the resolver).
    static let hostName: String = {
        var buffer = [UInt8](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }()
}

/// Where an iteration starts: the branch it works on, its tip, the configuration there, the best
/// to beat, and where a discarded candidate goes back to.
struct IterationStart {
    let branch: ReferenceName
    let tip: OID
    let experiment: Experiment
    /// The best to beat; nil when this run measures a baseline.
    let best: RunEntry?
    /// The tip when it holds the best's files (the best itself, or a merge that carries it), else
    /// the best commit; nil for a baseline.
    let base: OID?
    /// The guarded paths of the best commit, which a candidate may not change.
    let guarded: GuardedPaths?
}

/// A commit about to be evaluated, and what it is judged against.
struct Candidate {
    let commit: OID
    let run: String
    let description: String
    let start: IterationStart
    /// How long the agent step that made it took (nil: no agent made it).
    var agentDuration: Double? = nil
}

/// What a measured run becomes once judged against the best: its status and why, and the values
/// its record keeps.
struct Decision {
    var status: RunStatus
    var reason: String?
    /// The best value the run was judged against.
    var bestBefore: Double?
    /// The noise width the next candidates are judged with, when known.
    var noise: Double?
    /// The value recorded: the measurement's median, or, for a recheck, that of all the best's samples.
    var value: Double?
    /// The samples recorded (none for a single evaluation).
    var samples: [Double]
    /// The smoke result carried over from the best (a recheck runs no smoke stage).
    var smokeValue: Double?

    /// The decision an evaluation that did not measure a value settled itself (crash, timeout,
    /// no-metric, interrupted, a broken constraint, a smoke stage that fell behind).
    init(settledBy evaluation: Evaluation, status: RunStatus, best: RunRecord?) {
        self.status = status
        reason = evaluation.reason
        bestBefore = best?.value
        value = evaluation.value
        samples = evaluation.samples.count > 1 ? evaluation.samples : []
    }

    init(status: RunStatus, reason: String?, bestBefore: Double?, noise: Double?, value: Double?, samples: [Double]) {
        self.status = status
        self.reason = reason
        self.bestBefore = bestBefore
        self.noise = noise
        self.value = value
        self.samples = samples
    }
}

extension ExperimentContext {
    /// One iteration under the lock. With an agent, and when nothing is waiting to be evaluated,
    /// the agent step makes the candidate first; without one, the work tree or the commits beyond
    /// the best are the candidate. A parallel worker (`worker`) works on its own branch, which
    /// starts at the experiment branch; a keep then advances the experiment branch (`advanceBest`).
    func iterate(message: String?, agent: AgentInvocation?, worker: Int? = nil) throws -> RunResult {
        let start = try startIteration(on: worker.map(refs.workerBranch) ?? refs.branch)
        let run = RunID.make()
        let candidate: Candidate
        switch try makeCandidate(run: run, message: message, agent: agent, from: start) {
        case .settled(let outcome): return .ran(outcome)
        case .nothing(let best): return .nothingToEvaluate(best: best)
        case .ready(let ready): candidate = ready
        }
        // Reachable first, then the marker, then the branch: a kill at any point leaves nothing lost.
        try ledger.recordAttempt(candidate.commit, experiment: name, run: run)
        if let best = start.best, let guarded = start.guarded, let base = start.base {
            let changed = try guarded.violations(candidate: try repository.commit(candidate.commit).tree, repository: repository)
            if !changed.isEmpty {
                let outcome = try reject(candidate, best: best, base: base, guarded: changed)
                if agent == nil { try sayHowToRestore(candidate.commit, base: base) }
                return .ran(outcome)
            }
        }
        let marker = LocalState.Marker(phase: .evaluation, run: run, candidate: candidate.commit.hex, best: start.base?.hex,
                                       branch: start.branch.fullName, start: Date(), description: candidate.description,
                                       userFiles: markedUserFiles, workerInClone: workerInClone)
        try state.writeMarker(marker)
        let tip = try tip(of: start.branch)
        if candidate.commit != tip {
            try movingBranches { try repository.setReference(start.branch, to: candidate.commit, expecting: .value(tip), message: "autoresearch: candidate \(run)") }
        }
        // Without an agent, new files the evaluation leaves are pointed out afterwards (see `filesAppeared`).
        let directoriesBefore = agent == nil ? try repository.directoryTimes(alsoWatching: pathsLeftAlone()) : nil
        let (record, evaluation) = try evaluateAndRecord(candidate.commit, experiment: start.experiment, best: start.best?.record,
                                                         marker: marker, sharedBest: worker != nil) { evaluation in
            var decision = judge(evaluation, against: start.best, experiment: start.experiment)
            if decision.status == .keep, worker != nil {
                try advanceBest(to: candidate.commit, from: start.tip, decision: &decision, experiment: start.experiment, run: run)
            }
            return decision
        }
        // Looked for before a reset, which moves the times of the directories it writes into.
        var newFiles = try directoriesBefore.map(filesAppeared(since:)) ?? []
        // Nothing changed since the status that made the candidate: the work tree holds its files.
        let quiet = workTreeWatch?.isQuiet() == true
        if record.status == .keep, quiet { workTreeHolds = candidate.commit }
        if record.status != .keep, let base = start.base {
            try resetHard(to: base, workTreeHoldsHead: quiet)
            if agent == nil { try sayHowToRestore(candidate.commit, base: base) }
            // A file the candidate had deleted and the evaluation wrote again: the reset put back the base's.
            if !newFiles.isEmpty { newFiles = try repository.untrackedFiles(among: newFiles) }
        }
        state.removeMarker()
        if !newFiles.isEmpty {
            events.notice("warning: untracked files after the evaluation (\(Workspace.listPaths(newFiles.sorted()))) will be part of the next candidate; if the evaluator writes them, add them to .gitignore")
        }
        return .ran(RunOutcome(record: record, commit: candidate.commit, bestBefore: start.best?.commit,
                               logPath: state.logPath(run: run), tail: evaluation.tail, agentDuration: candidate.agentDuration))
    }

    /// The untracked files that appeared in the work tree while the run evaluated (they would be
    /// part of the next candidate, so the user is warned of them), looking only into the
    /// directories whose time moved. A tracked file the evaluation rewrote is no new file: a
    /// discard's reset puts it back, and after a keep the next run's status takes it into its candidate.
    func filesAppeared(since before: DirectoryTimes) throws -> [String] {
        let leftAlone = pathsLeftAlone()
        return try repository.untrackedFiles(appearedSince: before).filter { !leftAlone.contains($0) }
    }

    /// Puts HEAD on `branch` and reads where the iteration starts from. A configuration that
    /// changed since the best commit starts a new baseline.
    func startIteration(on branch: ReferenceName) throws -> IterationStart {
        let tip = try tip(of: branch)
        try enterBranch(branch)
        let experiment = try configuration(at: tip)
        var best = try ledger.best(experiment: name, from: tip)
        // A reconfiguration that keeps the measurement goes on from the best: the tip stands in for it.
        if let previous = best, try workspace.configurationEntry(at: previous.commit) != workspace.configurationEntry(at: tip),
           try carriesBest(previous.commit, at: tip, experiment: experiment) {
            best = RunEntry(commit: tip, record: previous.record)
        }
        if let previous = best, try workspace.configurationEntry(at: previous.commit) != workspace.configurationEntry(at: tip) {
            let evaluatorChanged = previous.record.evaluator != nil && previous.record.evaluator != experiment.evaluatorID
            events.notice("\(ExperimentFile.fileName) changed since the best commit \(previous.commit.short)\(evaluatorChanged ? ", with a new evaluator" : ""): this run measures a new baseline")
            best = nil
        }
        let base = try best.map { try sameTree($0.commit, tip) ? tip : $0.commit }
        let guarded = try best.map { try GuardedPaths(experiment, tree: try repository.commit($0.commit).tree, repository: repository) }
        return IterationStart(branch: branch, tip: tip, experiment: experiment, best: best, base: base, guarded: guarded)
    }

    /// How often a loop's status after the agent step looks at the whole work tree though the
    /// watch named the paths the step touched.
    static let fullStatusEvery = 16

    /// What making a candidate gave.
    enum CandidateResult {
        case ready(Candidate)
        /// The run ended before an evaluation (the agent failed or changed nothing).
        case settled(RunOutcome)
        /// No agent, and the work tree and branch are at the best commit.
        case nothing(best: OID)
    }

    /// The candidate of run `run`: the agent's change (when there is an agent and nothing is
    /// waiting), else the work tree's changes committed on the tip, else the commits beyond the
    /// best. The paths left alone are no part of it; one over the size limits is rejected.
    func makeCandidate(run: String, message: String?, agent: AgentInvocation?, from start: IterationStart) throws -> CandidateResult {
        var tip = start.tip
        var description = message ?? ""
        // Mid-loop after a discard, the reset saw the work tree (or, after a keep, the watch saw
        // nothing change since the snapshot): it holds the tip's files and the paths left alone,
        // nothing else, unless the watch saw something since.
        let holdsTip = workTreeHolds == tip && agent.map { $0.iteration > 1 } == true && workTreeWatch?.isQuiet() != false
        workTreeHolds = nil
        var changes = holdsTip ? [] : try workTreeChanges()
        var byAgent = false
        var agentDuration: Double?
        if let agent, let best = start.best, let guarded = start.guarded, let base = start.base {
            if try !sameTree(tip, best.commit) || !changes.isEmpty {
                // Mid-loop the tree is clean after every run unless the evaluation wrote files,
                // which would be taken for the agent's next change.
                guard agent.iteration == 1 || changes.isEmpty else { throw Self.evaluationLeftFiles(changes) }
                events.notice("evaluating the changes already on \(start.branch.shortBranchName) (not made by the agent) first")
            } else {
                switch try agentStep(agent, experiment: start.experiment, run: run, best: best, branch: start.branch, base: base, guarded: guarded) {
                case .settled(let outcome): return .settled(outcome)
                case .changed(let text, let duration):
                    description = text
                    agentDuration = duration
                }
                tip = try self.tip(of: start.branch)
                // Watched from before the status: the evaluation's changes are seen without one.
                // When the work tree held the tip's files as the agent started, the paths its step
                // touched are all the status needs to look at; every `fullStatusEvery`th
                // iteration looks at all, for what the kernel does not report (`WorkTreeWatch`).
                let touched = startQuietPeriod()
                let limited = holdsTip && agent.iteration % Self.fullStatusEvery != 0
                changes = try workTreeChanges(limitedTo: limited ? touched : nil)
                byAgent = true
            }
        }
        var size = CandidateSize(workTree: changes, root: root)
        if byAgent, tip != start.tip { try size.addCommitted(from: repository.commit(start.tip).tree, to: repository.commit(tip).tree, in: repository) }
        if let excess = size.excess(start.experiment) {
            guard byAgent || agent == nil else {
                throw AutoresearchError("the changes already on \(start.branch.shortBranchName) are too big: \(excess); the loop stopped, nothing was committed",
                                        hint: "commit or remove them, or raise the limits with 'git autoresearch init --name \(name) --max-file-size BYTES --max-candidate-size BYTES'")
            }
            return .settled(try rejectOversized(excess, run: run, description: description, start: start, byAgent: byAgent))
        }
        let commit = try snapshot(changes, onto: tip, run: run, description: &description, namedByPaths: agent != nil, start: start)
        if let best = start.best, try sameTree(commit, best.commit) {
            guard agent != nil else { return .nothing(best: commit) }
            return .settled(try recordNoop(experiment: start.experiment, run: run, best: best, description: description))
        }
        return .ready(Candidate(commit: commit, run: run, description: description, start: start, agentDuration: agentDuration))
    }

    /// The commit of run `run`'s candidate: `changes` committed on `tip` (the subject is
    /// `description`, which, empty and `namedByPaths`, names the paths), else `tip` (whose
    /// subject becomes the description when it is beyond the base).
    private func snapshot(_ changes: [StatusEntry], onto tip: OID, run: String, description: inout String, namedByPaths: Bool,
                          start: IterationStart) throws -> OID {
        guard !changes.isEmpty else {
            if description.isEmpty, tip != start.base {
                description = String(try repository.commit(tip).message.prefix { $0 != "\n" })
            }
            return tip
        }
        let tree = try stage(changes)
        guard tree != (try repository.commit(tip).tree) else { return tip }
        if description.isEmpty, namedByPaths { description = "edit \(Workspace.listPaths(changes.map(\.path)))" }
        let subject = description.isEmpty ? "autoresearch: \(name) run \(run)" : description
        return try repository.createCommit(tree: tree, parents: [tip], message: subject + "\n")
    }

    /// Judges a measured evaluation against the best: keep when better beyond the gate (the first
    /// run is the baseline, kept), else discard; the noise a keep passes on is the baseline's own,
    /// then inherited.
    func judge(_ evaluation: Evaluation, against best: RunEntry?, experiment: Experiment) -> Decision {
        let samples = evaluation.samples.count > 1 ? evaluation.samples : []
        guard let best else {
            return Decision(status: .keep, reason: nil, bestBefore: nil, noise: Statistics.noiseWidth(evaluation.samples),
                            value: evaluation.value, samples: samples)
        }
        let verdict = evaluation.value.map { experiment.judge($0, against: best.record) } ?? Verdict(keep: false, reason: nil)
        return Decision(status: verdict.keep ? .keep : .discard, reason: verdict.reason, bestBefore: best.record.value,
                        noise: verdict.keep ? best.record.noise : nil, value: evaluation.value, samples: samples)
    }

    /// The error for a work tree the evaluation left files in, mid-loop.
    static func evaluationLeftFiles(_ changes: [StatusEntry]) -> AutoresearchError {
        AutoresearchError("the evaluation left files in the work tree (\(Workspace.listPaths(changes.map(\.path)))); the loop stopped so they are not taken for the agent's next change",
                          hint: "add the evaluator's outputs to .gitignore, then start the loop again")
    }

    /// Evaluates `commit` for the run `marker` describes (written, and updated with the process
    /// group), lets `decide` judge what was measured, builds the record once (with its stored
    /// artifacts), and appends it with the log tail to the ledger. The caller resets and removes
    /// the marker. With `sharedBest` (parallel workers), deciding and recording happen under the
    /// best's lock, so no other worker sees the experiment branch at a new best whose record is
    /// not written yet.
    func evaluateAndRecord(_ commit: OID, experiment: Experiment, best: RunRecord?, marker: LocalState.Marker,
                           includeSmoke: Bool = true, sharedBest: Bool = false,
                           decide: (Evaluation) throws -> Decision) throws -> (RunRecord, Evaluation) {
        var marker = marker
        let run = marker.run
        events.started(run, experiment, commit, best == nil)
        let artifactsBefore = workspace.artifactFiles(experiment)
        let evaluation = try evaluate(experiment, run: run, candidate: commit, best: best, logPath: state.logPath(run: run),
                                      includeSmoke: includeSmoke) { group in
            marker.recordProcessGroup(ledBy: group)
            try state.writeMarker(marker)
        }
        let artifacts = evaluation.status == .interrupted ? nil : try workspace.storeArtifacts(experiment, run: run, commit: commit, unchanged: artifactsBefore)
        func settle() throws -> RunRecord {
            let decision = try evaluation.status.map { Decision(settledBy: evaluation, status: $0, best: best) } ?? decide(evaluation)
            let record = RunRecord(experiment: experiment, run: run, marker: marker, evaluation: evaluation, decision: decision,
                                   artifacts: artifacts)
            try ledger.append(record, logTail: evaluation.tail, on: commit)
            return record
        }
        let record = sharedBest ? try withBestLock(settle) : try settle()
        if let skipped = record.artifactsSkipped {
            events.notice("warning: artifacts over the \(ByteCount.format(experiment.artifactLimit)) limit were not stored: \(skipped); raise it with 'git config -f .autoresearch experiment.\(name).artifactLimit BYTES' or store less")
        }
        return (record, evaluation)
    }

    /// Records a candidate that changed guarded paths as `rejected` (it stays on the attempts
    /// chain) and puts the branch and work tree back at `base` (the best's files). Nothing is evaluated.
    func reject(_ candidate: Candidate, best: RunEntry, base: OID, guarded: [String]) throws -> RunOutcome {
        let record = unevaluatedRecord(.rejected, reason: "changed guarded paths: \(Workspace.listPaths(guarded))",
                                       experiment: candidate.start.experiment, run: candidate.run, bestBefore: best.record.value,
                                       marker: state.readMarker(), description: candidate.description)
        try ledger.append(record, on: candidate.commit)
        try resetHard(to: base)
        state.removeMarker()
        let mainBranch = workspace.defaultBranch(experiment: name)
        let hint = "the change: git show \(candidate.commit.short); to change the evaluator on purpose, commit it on \(mainBranch) and run 'git autoresearch rebase \(mainBranch)' (or commit it here, then 'git autoresearch init --name \(name)'): the next run is a new baseline"
        return RunOutcome(record: record, commit: candidate.commit, bestBefore: best.commit, logPath: state.logPath(run: candidate.run),
                          tail: [], hint: hint)
    }

    /// The record of a run that was not evaluated (no-op, rejected, agent error, interrupted),
    /// timed from the start of the iteration's `marker` (else now) to now, by the worker the
    /// marker names. `experiment` is nil when its configuration cannot be read.
    func unevaluatedRecord(_ status: RunStatus, reason: String, experiment: Experiment?, run: String,
                           bestBefore: Double?, marker: LocalState.Marker?, exitCode: Int32? = nil, description: String) -> RunRecord {
        let start = marker?.start ?? Date()
        var record = RunRecord(experiment: name, run: run, status: status, metric: experiment?.metric ?? "", value: nil,
                               bestBefore: bestBefore, direction: experiment?.direction ?? .lower,
                               duration: Date().timeIntervalSince(start), start: start, exitCode: exitCode,
                               reason: reason, description: description, host: Workspace.hostName)
        record.evaluator = experiment?.evaluatorID
        record.worker = marker?.worker
        return record
    }

    /// Makes sure HEAD is on `branch`: switches to it from a clean work tree, and refuses when the
    /// user has uncommitted work on another branch (it is never touched).
    func enterBranch(_ branch: ReferenceName) throws {
        let head = try repository.head()
        if case .branch(branch, _) = head { return }
        let changes = try workTreeChanges()
        if !changes.isEmpty {
            let here: String
            if case .branch(let name, _) = head { here = "branch \(name.shortBranchName)" } else { here = "a detached HEAD" }
            throw AutoresearchError("you are on \(here) with uncommitted changes (\(Workspace.listPaths(changes.map(\.path)))); nothing was touched",
                                    hint: "commit or stash them (git stash -u), then run again; or, to hand these changes to the experiment, git switch autoresearch/\(name) first")
        }
        try switchToBranch(branch)
        events.notice("switched to branch autoresearch/\(name)")
    }
}

extension RunRecord {
    /// The record of an evaluated run, built once from what was measured and decided.
    init(experiment: Experiment, run: String, marker: LocalState.Marker, evaluation: Evaluation, decision: Decision,
         artifacts: (tree: OID, skipped: [String])?) {
        self.init(experiment: experiment.name, run: run, status: decision.status, metric: experiment.metric,
                  value: decision.value, bestBefore: decision.bestBefore, direction: experiment.direction,
                  duration: evaluation.duration, start: marker.start, exitCode: evaluation.exitCode,
                  reason: decision.reason, description: marker.description, host: Workspace.hostName)
        evaluator = experiment.evaluatorID
        evaluation.fill(&self)
        samples = decision.samples
        noise = decision.noise
        worker = marker.worker
        if let carried = decision.smokeValue { smokeValue = carried }
        artifacts.map { self.artifacts = $0.tree.hex }
        if let skipped = artifacts?.skipped, !skipped.isEmpty { artifactsSkipped = Workspace.listPaths(skipped) }
    }
}

/// Run ids: the UTC start time and 24 random bits, e.g. `20261123-090102-3fa9c1`. Sortable by
/// time, and unique across clones without coordination.
public enum RunID {
    public static func make(at date: Date = Date()) -> String {
        // From the records' timestamp (no date formatter per run): 2026-11-23T09:01:02.000Z → 20261123-090102.
        let stamp = Timestamp.format(Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
        let time = String(stamp.prefix(19).compactMap { $0 == "T" ? "-" : $0.isNumber ? $0 : nil })
        let random = String(UInt32.random(in: 0..<(1 << 24)), radix: 16)
        return time + "-" + random.zeroPadded(to: 6)
    }
}

extension DateFormatter {
    /// A formatter of UTC times in `format`, independent of the user's locale.
    static func utc(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }
}
