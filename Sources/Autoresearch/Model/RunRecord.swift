import Foundation

/// The outcome of one run.
public enum RunStatus: String, Sendable, CaseIterable {
    /// Better than the best (or the first run, the baseline): the branch advanced.
    case keep
    /// Evaluated, not better: the branch was reset to the best commit.
    case discard
    /// The evaluation exited with a non-zero status or was killed by a signal.
    case crash
    /// The evaluation ran past its hard limit and was killed.
    case timeout
    /// The evaluation succeeded but printed no usable metric (missing, NaN, infinite).
    case noMetric = "no-metric"
    /// The run was stopped by Ctrl-C, SIGTERM, or the tool being killed.
    case interrupted
    /// The agent changed nothing: there was nothing to evaluate.
    case noop
    /// The agent step failed (non-zero exit, killed, or past its time limit); nothing was evaluated.
    case agentError = "agent-error"
    /// The candidate changed a guarded path (the evaluator, `.autoresearch`, a `guard`); not evaluated.
    case rejected
    /// The best commit measured again (`recheckEvery`, `run --recheck`): its value becomes the
    /// median of all its samples.
    case recheck

    /// True for the records whose value is the best's: the keep, and rechecks of the kept commit.
    public var holdsBest: Bool { self == .keep || self == .recheck }

    /// True for outcomes that point at a broken evaluator or agent rather than a worse idea;
    /// `loop --max-crashes` counts them in a row (a rejected candidate too: an agent that keeps
    /// editing the evaluator is broken).
    public var isFailure: Bool {
        switch self {
        case .crash, .timeout, .noMetric, .agentError, .rejected: return true
        case .keep, .discard, .interrupted, .noop, .recheck: return false
        }
    }
}

/// One line of the ledger: everything known about one run. Stored as a logfmt line
/// (`key=value`, values quoted when needed) in the git note of the evaluated commit.
public struct RunRecord: Sendable, Equatable {
    public static let formatVersion = 1

    public var version: Int = RunRecord.formatVersion
    public var experiment: String
    public var run: String
    public var status: RunStatus
    public var metric: String
    public var value: Double?
    /// The best value before this run (nil for the baseline).
    public var bestBefore: Double?
    public var direction: Direction
    /// Seconds the evaluation took.
    public var duration: Double
    /// When the evaluation started, UTC.
    public var start: Date
    /// The evaluation's exit code (nil when killed by a signal or never started).
    public var exitCode: Int32?
    /// Why the run failed, for crash, timeout, no-metric and interrupted.
    public var reason: String?
    public var description: String
    /// The machine that ran it.
    public var host: String
    /// The parallel worker that ran it (`loop --jobs`), from 0.
    public var worker: Int?
    /// The evaluator the run was measured with (`GuardedPaths.fingerprint`, pinned by `init`).
    public var evaluator: String?
    /// Every value of the metric measured in this run, in order (`repeats`); `value` is their median.
    public var samples: [Double] = []
    /// The noise width the best is judged with (see `Statistics.noiseWidth`), when known.
    public var noise: Double?
    /// `smoke` when the run ended at the smoke stage: it failed there or fell behind.
    public var stage: String?
    /// The primary metric's value at the smoke stage.
    public var smokeValue: Double?
    /// The targets evaluated, in their order.
    public var targets: [String] = []
    /// Every metric the evaluator reported (medians over the repeats), in the order first seen;
    /// per target as `TARGET/NAME`.
    public var metrics: [(name: String, value: Double)] = []
    /// The constraint the run broke.
    public var breach: String?
    /// The tree of the run's artifacts (reachable from the attempts chain).
    public var artifacts: String?
    /// Artifacts left out because of the size limit.
    public var artifactsSkipped: String?
    /// Fields this version does not know, kept as they were.
    public var extra: [(key: String, value: String)] = []

    public init(experiment: String, run: String, status: RunStatus, metric: String, value: Double?, bestBefore: Double?,
                direction: Direction, duration: Double, start: Date, exitCode: Int32?, reason: String?,
                description: String, host: String) {
        self.experiment = experiment
        self.run = run
        self.status = status
        self.metric = metric
        self.value = value
        self.bestBefore = bestBefore
        self.direction = direction
        self.duration = duration
        self.start = start
        self.exitCode = exitCode
        self.reason = reason
        self.description = description
        self.host = host
    }

    /// True for the first kept run of an experiment.
    public var isBaseline: Bool { status == .keep && bestBefore == nil }

    /// True when the full evaluation passed: a value, the contract and the constraints met.
    public var passed: Bool {
        value != nil && breach == nil && (status == .keep || status == .discard || status == .recheck)
    }

    /// The change against the best before, when both exist.
    public var delta: Double? {
        guard let value, let bestBefore else { return nil }
        return Number.difference(value, bestBefore)
    }

    public static func == (lhs: RunRecord, rhs: RunRecord) -> Bool { lhs.line == rhs.line }

    // MARK: logfmt

    /// The record as one logfmt line.
    public var line: String {
        var fields: [(String, String)] = [
            ("v", String(version)), ("experiment", experiment), ("run", run), ("status", status.rawValue),
            ("metric", metric),
        ]
        if let value { fields.append(("value", Self.format(value))) }
        if !samples.isEmpty { fields.append(("samples", samples.map(Self.format).joined(separator: ","))) }
        if let noise { fields.append(("noise", Self.format(noise))) }
        if let bestBefore { fields.append(("best_before", Self.format(bestBefore))) }
        fields.append(("direction", direction.rawValue))
        fields.append(("duration", Number.seconds(duration)))
        fields.append(("start", Self.timestamp(start)))
        if let exitCode { fields.append(("exit", String(exitCode))) }
        fields.append(("host", host))
        if let worker { fields.append(("worker", String(worker))) }
        if let evaluator { fields.append(("evaluator", evaluator)) }
        if let stage { fields.append(("stage", stage)) }
        if let smokeValue { fields.append(("smoke", Self.format(smokeValue))) }
        if !targets.isEmpty { fields.append(("targets", targets.joined(separator: ","))) }
        fields += metrics.map { (Self.metricPrefix + $0.name, Self.format($0.value)) }
        if let breach { fields.append(("breach", breach)) }
        if let artifacts { fields.append(("artifacts", artifacts)) }
        if let artifactsSkipped { fields.append(("artifacts_skipped", artifactsSkipped)) }
        if let reason { fields.append(("reason", reason)) }
        fields.append(("desc", description))
        fields += extra.map { ($0.key, $0.value) }
        return fields.map { "\($0.0)=\(Logfmt.quote($0.1))" }.joined(separator: " ")
    }

    /// Parses a line written by `line`; nil when it is not a record of a known format version.
    public init?(line: String) {
        // The log lines kept after the records (`LogTailLine`): no record, and many, so not parsed.
        guard !LogTailLine.isOne(line[...]) else { return nil }
        // One pass, no dictionary: a log of 100,000 runs in JSON parses every record.
        var fields = KnownFields(), unknown: [(key: String, value: String)] = []
        for (key, value) in Logfmt.parse(line) {
            if let known = KnownKey(rawValue: key) { fields[known] = value } else { unknown.append((key, value)) }
        }
        guard let version = fields[.v].flatMap(Int.init), version <= RunRecord.formatVersion,
              let experiment = fields[.experiment], let run = fields[.run],
              let status = fields[.status].flatMap(RunStatus.init(rawValue:)),
              let metric = fields[.metric],
              let direction = fields[.direction].flatMap(Direction.init(rawValue:)),
              let start = fields[.start].flatMap(Self.parseTimestamp) else { return nil }
        self.init(experiment: experiment, run: run, status: status, metric: metric,
                  value: fields[.value].flatMap(Double.init), bestBefore: fields[.bestBefore].flatMap(Double.init),
                  direction: direction, duration: fields[.duration].flatMap(Double.init) ?? 0, start: start,
                  exitCode: fields[.exit].flatMap(Int32.init), reason: fields[.reason],
                  description: fields[.desc] ?? "", host: fields[.host] ?? "")
        self.version = version
        evaluator = fields[.evaluator]
        worker = fields[.worker].flatMap(Int.init)
        samples = fields[.samples].map { $0.split(separator: ",").compactMap { Double($0) } } ?? []
        noise = fields[.noise].flatMap(Double.init)
        stage = fields[.stage]
        smokeValue = fields[.smoke].flatMap(Double.init)
        targets = fields[.targets].map { $0.split(separator: ",").map(String.init) } ?? []
        breach = fields[.breach]
        artifacts = fields[.artifacts]
        artifactsSkipped = fields[.artifactsSkipped]
        for (key, value) in unknown {
            if key.hasPrefix(Self.metricPrefix), let number = Double(value) {
                metrics.append((String(key.dropFirst(Self.metricPrefix.count)), number))
            } else {
                extra.append((key, value))
            }
        }
    }

    /// The keys this version reads into fields.
    private enum KnownKey: String, CaseIterable {
        case v, experiment, run, status, metric, value, bestBefore = "best_before", direction, duration, start, exit, reason, desc, host,
             worker, evaluator, samples, noise, stage, smoke, targets, breach, artifacts, artifactsSkipped = "artifacts_skipped"
        static let all = allCases
    }

    /// The values of the known keys in a line, the last one of a key given twice.
    private struct KnownFields {
        private var values = [String?](repeating: nil, count: KnownKey.all.count)

        subscript(key: KnownKey) -> String? {
            get { values[KnownKey.all.firstIndex(of: key)!] }
            set { values[KnownKey.all.firstIndex(of: key)!] = newValue }
        }
    }

    /// The prefix of the keys of reported metrics: `m.peak_vram_mb=38000`.
    public static let metricPrefix = "m."

    /// The reported metrics by name.
    public var metricValues: [String: Double] {
        Dictionary(metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// All records in a note's text (lines that are not records are skipped).
    public static func parseAll(_ note: String) -> [RunRecord] {
        note.split(separator: "\n").compactMap { RunRecord(line: String($0)) }
    }

    /// Shortest form that reads back to the same double; whole numbers without `.0`.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    /// UTC with milliseconds, e.g. `2026-11-23T09:13:27.512Z`.
    public static func timestamp(_ date: Date) -> String { Timestamp.format(date) }

    /// Reads timestamps with or without fractional seconds.
    static func parseTimestamp(_ text: String) -> Date? { Timestamp.parse(text) }
}

/// logfmt: `key=value` pairs separated by spaces; an empty value, or one with a space, tab,
/// line break, quote, `=` or backslash, is double-quoted with `\"`, `\\`, `\n`, `\r`, `\t` escapes.
/// Both directions work on Unicode scalars, not characters: a combining mark after a space or a
/// quote joins it into one character, and must not hide it.
enum Logfmt {
    /// The scalars that make a value quoted: separators, quotes, escapes, tabs and line breaks.
    static let needingQuotes: Set<Unicode.Scalar> = [" ", "\"", "=", "\\", "\t", "\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}"]

    static func quote(_ value: String) -> String {
        guard value.isEmpty || value.unicodeScalars.contains(where: needingQuotes.contains) else { return value }
        return "\"" + UntrustedText.backslashEscaped(value, quotes: true) + "\""
    }

    /// The pairs of a line. Works on its UTF-8 bytes: every delimiter is ASCII, and no byte of
    /// a multi-byte scalar is, so this is the same as working on scalars, without decoding them.
    static func parse(_ line: String) -> [(key: String, value: String)] {
        var line = line
        return line.withUTF8 { parse(bytes: $0) }
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) -> [(key: String, value: String)] {
        let space = UInt8(ascii: " "), equals = UInt8(ascii: "="), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var pairs: [(String, String)] = []
        var index = 0
        func skipSpaces() { while index < bytes.count, bytes[index] == space { index += 1 } }
        func text(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
        skipSpaces()
        while index < bytes.count {
            let keyStart = index
            while index < bytes.count, bytes[index] != equals, bytes[index] != space { index += 1 }
            let key = text(keyStart..<index)
            var value = ""
            if index < bytes.count, bytes[index] == equals {
                index += 1
                if index < bytes.count, bytes[index] == quote {
                    index += 1
                    var unquoted: [UInt8] = []
                    while index < bytes.count, bytes[index] != quote {
                        if bytes[index] == backslash, index + 1 < bytes.count {
                            index += 1
                            switch bytes[index] {
                            case UInt8(ascii: "n"): unquoted.append(UInt8(ascii: "\n"))
                            case UInt8(ascii: "r"): unquoted.append(UInt8(ascii: "\r"))
                            case UInt8(ascii: "t"): unquoted.append(UInt8(ascii: "\t"))
                            default: unquoted.append(bytes[index])
                            }
                        } else {
                            unquoted.append(bytes[index])
                        }
                        index += 1
                    }
                    if index < bytes.count { index += 1 }
                    value = String(decoding: unquoted, as: UTF8.self)
                } else {
                    let valueStart = index
                    while index < bytes.count, bytes[index] != space { index += 1 }
                    value = text(valueStart..<index)
                }
            }
            if !key.isEmpty { pairs.append((key, value)) }
            skipSpaces()
        }
        return pairs
    }
}
