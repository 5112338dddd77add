import Foundation
import Git

/// One record as the ledger index keeps it: the fields listings, filters and the reports'
/// summary read (status, value, duration, start, host, worker, description, …), decoded from the
/// index entry without parsing the record's line; the full `RunRecord` is parsed from the line
/// the first time `record` is asked for.
public final class IndexedRecord {
    /// What the index knows of a record besides its fields.
    struct Flags: OptionSet {
        let rawValue: UInt8
        /// `RunRecord.passed`.
        static let passed = Flags(rawValue: 1)
        /// The run has a smoke-stage value.
        static let smoke = Flags(rawValue: 2)
        /// `RunRecord.isBaseline`.
        static let baseline = Flags(rawValue: 4)
        /// `value`, `bestBefore`, `worker` and `evaluator` are present.
        static let hasValue = Flags(rawValue: 8)
        static let hasBestBefore = Flags(rawValue: 16)
        static let hasWorker = Flags(rawValue: 32)
        static let hasEvaluator = Flags(rawValue: 64)
    }

    /// The commit the record's note is on.
    public let commit: OID
    /// The record's start, seconds since the reference date.
    let startSeconds: Double
    public let status: RunStatus
    let flags: Flags
    public let experiment: String
    public let run: String
    public let value: Double?
    public let bestBefore: Double?
    /// Seconds the evaluation took.
    public let duration: Double
    public let host: String
    public let worker: Int?
    public let evaluator: String?
    public let description: String
    /// Which record of its note it is, from 0.
    let ordinal: Int
    /// The record's line as it is in the note, UTF-8.
    let lineBytes: ArraySlice<UInt8>
    private var parsed: RunRecord?

    /// The fields of `record`, whose line is `line`, the `ordinal`-th record of the note on `commit`.
    convenience init(_ record: RunRecord, line: ArraySlice<UInt8>, ordinal: Int, on commit: OID) {
        var flags: Flags = []
        if record.passed { flags.insert(.passed) }
        if record.smokeValue != nil { flags.insert(.smoke) }
        if record.isBaseline { flags.insert(.baseline) }
        if record.value != nil { flags.insert(.hasValue) }
        if record.bestBefore != nil { flags.insert(.hasBestBefore) }
        if record.worker != nil { flags.insert(.hasWorker) }
        if record.evaluator != nil { flags.insert(.hasEvaluator) }
        self.init(commit: commit, startSeconds: record.start.timeIntervalSinceReferenceDate, status: record.status, flags: flags,
                  experiment: record.experiment, run: record.run, value: record.value, bestBefore: record.bestBefore,
                  duration: record.duration, host: record.host, worker: record.worker, evaluator: record.evaluator,
                  description: record.description, ordinal: ordinal, lineBytes: line)
        parsed = record
    }

    /// A record from the index entry's fields (`LedgerEntries`).
    init(commit: OID, startSeconds: Double, status: RunStatus, flags: Flags, experiment: String, run: String, value: Double?,
         bestBefore: Double?, duration: Double, host: String, worker: Int?, evaluator: String?, description: String,
         ordinal: Int, lineBytes: ArraySlice<UInt8>) {
        self.commit = commit
        self.startSeconds = startSeconds
        self.status = status
        self.flags = flags
        self.experiment = experiment
        self.run = run
        self.value = value
        self.bestBefore = bestBefore
        self.duration = duration
        self.host = host
        self.worker = worker
        self.evaluator = evaluator
        self.description = description
        self.ordinal = ordinal
        self.lineBytes = lineBytes
    }

    /// When the evaluation started, UTC.
    public var start: Date { Date(timeIntervalSinceReferenceDate: startSeconds) }
    /// True for the first kept run of an experiment (`RunRecord.isBaseline`).
    public var isBaseline: Bool { flags.contains(.baseline) }
    /// True when the full evaluation passed (`RunRecord.passed`).
    public var passed: Bool { flags.contains(.passed) }
    /// The change against the best before, when both exist (`RunRecord.delta`).
    public var delta: Double? { value.flatMap { value in bestBefore.map { Number.difference(value, $0) } } }
    /// The record's line as it is in the note.
    var line: String { String(decoding: lineBytes, as: UTF8.self) }

    /// The metrics the record reports (`RunRecord.metrics`): the record is parsed only when its
    /// line holds `m.`, as the key of each does (`RunRecord.metricPrefix`).
    var metrics: [(name: String, value: Double)] { mayReportMetrics ? record.metrics : [] }

    /// The metrics the record reports, by name (`RunRecord.metricValues`).
    var metricValues: [String: Double] { mayReportMetrics ? record.metricValues : [:] }

    private var mayReportMetrics: Bool {
        let prefix = Array(RunRecord.metricPrefix.utf8)
        return zip(lineBytes, lineBytes.dropFirst()).contains { $0 == prefix[0] && $1 == prefix[1] }
    }

    /// The full record, parsed from its line once. The index keeps only lines that parsed, with
    /// the fields of that parse; should this version not read the line, the fields are the record.
    public var record: RunRecord {
        if let parsed { return parsed }
        let record = recordOnce
        parsed = record
        return record
    }

    /// The full record for a reader that looks at it once (`log --format json`): not kept, so
    /// that 100,000 parsed records are not all held at once.
    public var recordOnce: RunRecord { parsed ?? RunRecord(line: line) ?? fieldsOnly }

    /// The record as far as the index's fields tell it.
    private var fieldsOnly: RunRecord {
        var record = RunRecord(experiment: experiment, run: run, status: status, metric: "", value: value, bestBefore: bestBefore,
                               direction: .lower, duration: duration, start: start, exitCode: nil, reason: nil,
                               description: description, host: host)
        (record.worker, record.evaluator) = (worker, evaluator)
        return record
    }

    /// The record with its commit.
    public var entry: RunEntry { RunEntry(commit: commit, record: record) }

    /// The ledger's order: by start time, then run id, then commit, then place in the note.
    static func inLedgerOrder(_ a: IndexedRecord, _ b: IndexedRecord) -> Bool {
        if a.startSeconds != b.startSeconds { return a.startSeconds < b.startSeconds }
        if a.run != b.run { return a.run < b.run }
        if a.commit != b.commit { return a.commit.hex < b.commit.hex }
        return a.ordinal < b.ordinal
    }
}
