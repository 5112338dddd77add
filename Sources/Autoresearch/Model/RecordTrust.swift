import Foundation

/// Which records the best may be taken from. Records pulled from another machine are data, not
/// verdicts: anyone with push access can append a line to a note. A record is *suspect* when its
/// time is implausible (it starts in the future, or its run id was not made shortly before its
/// start), or when it is a keep on a commit another run kept first. Suspect records are shown,
/// never used to find the best.
public enum RecordTrust {
    /// How far in the future a record may start: machines' clocks differ.
    public static let clockSkew: TimeInterval = 600
    /// How long before its start a run id may be made: the agent step runs in between, for at
    /// most the longest duration a setting allows.
    static let longestAgentStep: TimeInterval = 31 * 86_400

    /// Why each record of one note (records of one experiment, in note order) is suspect; nil
    /// for a trusted one. The first trusted keep on a commit counts; a later keep of another run is suspect.
    public static func suspicions(_ records: [RunRecord], now: Date = Date()) -> [String?] {
        var keptBy: String?
        return records.map { record in
            if let problem = implausibleTime(record, now: now) { return problem }
            guard record.status == .keep else { return nil }
            if let first = keptBy, first != record.run { return "a second keep of this commit (run \(first) kept it first)" }
            keptBy = record.run
            return nil
        }
    }

    /// Why the time of `record` cannot be right, or nil.
    static func implausibleTime(_ record: RunRecord, now: Date) -> String? {
        if record.start > now.addingTimeInterval(clockSkew) {
            return "it starts in the future (\(RunRecord.timestamp(record.start)))"
        }
        let formatter = DateFormatter.utc(runIDTimeFormat)
        let parts = record.run.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].count == 6, parts[2].allSatisfy(\.isHexDigit),
              let made = formatter.date(from: "\(parts[0])-\(parts[1])"),
              formatter.string(from: made) == "\(parts[0])-\(parts[1])" else {
            return "its run id is not a time and a random number"
        }
        let sinceMade = record.start.timeIntervalSince(made)
        guard sinceMade > -1, sinceMade <= longestAgentStep else {
            return "its run id (\(formatter.string(from: made))) does not match its start (\(RunRecord.timestamp(record.start)))"
        }
        return nil
    }

    /// The time part of a run id (`RunID`).
    static let runIDTimeFormat = "yyyyMMdd-HHmmss"
}
