import Autoresearch
import Fixtures
import Foundation
import Testing

// The domain called in the test process, through the public `Workspace` API. Nothing here changes
// the process's current directory or environment, so these tests run in parallel; what the domain
// writes is still checked with the git CLI (TempRepository's helpers).

/// What the domain reported through `RunEvents`, from whichever thread, and an interruption the
/// test decides on.
final class RecordedEvents: @unchecked Sendable {
    private let lock = NSLock()
    private var noticeLines: [String] = []
    private var progressReports: [StepProgress] = []
    private var interrupted = false
    /// Consulted with each progress report: true interrupts the run (as Ctrl-C would).
    private let interruptWhen: (StepProgress) -> Bool

    init(interruptWhen: @escaping (StepProgress) -> Bool = { _ in false }) {
        self.interruptWhen = interruptWhen
    }

    var notices: [String] { lock.withLock { noticeLines } }
    var progress: [StepProgress] { lock.withLock { progressReports } }
    var wasInterrupted: Bool { lock.withLock { interrupted } }

    /// From now on, the domain sees an interruption.
    func interrupt() { lock.withLock { interrupted = true } }

    /// The callbacks to hand to the domain.
    var events: RunEvents {
        var events = RunEvents()
        events.notice = { [self] line in lock.withLock { noticeLines.append(line) } }
        events.progress = { [self] report in
            lock.withLock { progressReports.append(report) }
            if interruptWhen(report) { interrupt() }
        }
        events.isInterrupted = { [self] in wasInterrupted }
        events.workerOutput = { _, _ in }
        return events
    }

    /// True when some notice contains `text`.
    func noticed(_ text: String) -> Bool { notices.contains { $0.contains(text) } }
}

/// One iteration run in process: the domain's outcome, what it noticed, and its record line as
/// the git CLI reads it from the ledger.
struct RanIteration {
    let outcome: RunOutcome
    let record: String
    let notices: [String]

    var status: RunStatus { outcome.record.status }
    var commit: String { outcome.commit.hex }
}

/// A loop run in process: the runs it reported (in order), its summary, what it noticed.
struct RanLoop {
    let runs: [RunOutcome]
    let summary: LoopSummary
    let notices: [String]

    var statuses: [String] { runs.map(\.record.status.rawValue) }
    var records: [RunRecord] { runs.map(\.record) }
}

extension TempRepository {
    /// The repository opened by the domain, as a command run in its work tree would.
    func workspace() throws -> Workspace { try Workspace(discoveringFrom: path) }

    /// `init` in process: configures (or reconfigures) experiment `name` as `configure` says.
    @discardableResult
    func initialize(_ name: String = "s", _ configure: (inout TestSettings) -> Void = { _ in }) throws -> InitResult {
        var settings = TestSettings()
        configure(&settings)
        return try workspace().initialize(settings.initSettings(name: name))
    }

    /// `run` in process; fails the test when there was nothing to evaluate.
    @discardableResult
    func runIteration(message: String? = nil, experiment: String = "s", events: RecordedEvents = RecordedEvents()) throws -> RanIteration {
        switch try workspace().runOnce(experiment: experiment, message: message, events: events.events) {
        case .ran(let outcome):
            return try ranIteration(outcome, events)
        case .nothingToEvaluate(let best):
            throw OracleError(description: "nothing to evaluate: the tree is at the best \(best.hex)")
        }
    }

    /// `run --recheck` in process.
    @discardableResult
    func recheck(experiment: String = "s", events: RecordedEvents = RecordedEvents()) throws -> RanIteration {
        try ranIteration(try workspace().recheck(experiment: experiment, events: events.events), events)
    }

    /// Changes `file` and runs one iteration described by the new content.
    func runCandidate(_ content: String, file: String = "candidate.txt") throws -> RanIteration {
        try write(file, content)
        return try runIteration(message: content.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `loop` in process with `agent` (nil: the experiment's) and the options `configure` sets.
    func loop(agent: String?, experiment: String = "s", events: RecordedEvents = RecordedEvents(),
              _ configure: (inout LoopOptions) -> Void = { _ in }) throws -> RanLoop {
        var options = LoopOptions()
        options.agent = agent
        configure(&options)
        var runs: [RunOutcome] = []
        let summary = try workspace().loop(experiment: experiment, options: options, events: events.events) { runs.append($0) }
        return RanLoop(runs: runs, summary: summary, notices: events.notices)
    }

    /// `push` in process: records, logs, attempts, then the experiment branches.
    @discardableResult
    func push(to remote: String = "origin") throws -> ShareReport {
        try workspace().push(remote: remote)
    }

    /// `pull` in process.
    @discardableResult
    func pull(from remote: String = "origin") throws -> ShareReport {
        try workspace().pull(remote: remote)
    }

    /// The ledger line of `run`, read with the git CLI.
    func recordLine(ofRun run: String) throws -> String {
        guard let line = try allLedgerLines().first(where: { $0.contains(" run=\(run) ") }) else {
            throw OracleError(description: "git notes hold no record of run \(run)")
        }
        return line
    }

    private func ranIteration(_ outcome: RunOutcome, _ events: RecordedEvents) throws -> RanIteration {
        RanIteration(outcome: outcome, record: try recordLine(ofRun: outcome.record.run), notices: events.notices)
    }
}

/// The error `body` throws, as the CLI would print it (message, then `hint: ...`); fails the test
/// when it throws none.
func failure(of body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    do {
        try body()
    } catch {
        return "\(error)"
    }
    Issue.record("expected an error", sourceLocation: sourceLocation)
    return ""
}

/// What a test gives `init`, typed; `initSettings` turns it into `init`'s texts, which the table
/// of settings reads as the command line's would be.
struct TestSettings {
    var evaluate: String?, metric: String?, direction: Direction?
    var budget: Double?, timeout: Double?, grace: Double?, agentTimeout: Double?, smokeBudget: Double?
    var metricFile: String?, metricKey: String?, title: String?, goal: String?, smoke: String?, targetsFile: String?
    var minDelta: String?, smokeMargin: String?
    var repeats: Int?, artifactLimit: Int?
    var artifacts: [String] = [], constraints: [String] = [], requiredKeys: [String] = [], targets: [String] = []

    func initSettings(name: String) -> ExperimentSettings {
        var settings = ExperimentSettings(name: name)
        let texts: [(Setting, String?)] = [
            (.evaluate, evaluate), (.metric, metric), (.direction, direction?.rawValue),
            (.budget, budget.map(Self.seconds)), (.timeout, timeout.map(Self.seconds)), (.grace, grace.map(Self.seconds)),
            (.agentTimeout, agentTimeout.map(Self.seconds)), (.smokeBudget, smokeBudget.map(Self.seconds)),
            (.metricFile, metricFile), (.metricKey, metricKey), (.title, title), (.goal, goal), (.smoke, smoke),
            (.targetsFile, targetsFile), (.minDelta, minDelta), (.smokeMargin, smokeMargin),
            (.repeats, repeats.map(String.init)), (.artifactLimit, artifactLimit.map(String.init)),
        ]
        for (setting, text) in texts { settings.set(setting, text) }
        for (setting, list) in [(Setting.artifacts, artifacts), (.constraints, constraints), (.requiredKeys, requiredKeys), (.targets, targets)] {
            settings.set(setting, list)
        }
        return settings
    }

    private static func seconds(_ value: Double) -> String { "\(value)s" }
}
