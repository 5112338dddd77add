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
        suspicions(records.map { ($0.run, $0.status, $0.start) }, now: now)
    }

    /// `suspicions` of records given by what it looks at: run id, status and start.
    static func suspicions(_ records: [(run: String, status: RunStatus, start: Date)], now: Date = Date()) -> [String?] {
        var keptBy: String?
        return records.map { record in
            if let problem = implausibleTime(run: record.run, start: record.start, now: now) { return problem }
            guard record.status == .keep else { return nil }
            if let first = keptBy, first != record.run { return "a second keep of this commit (run \(first) kept it first)" }
            keptBy = record.run
            return nil
        }
    }

    /// Why the start of run `run` cannot be right, or nil.
    static func implausibleTime(run: String, start: Date, now: Date) -> String? {
        if start > now.addingTimeInterval(clockSkew) {
            return "it starts in the future (\(RunRecord.timestamp(start)))"
        }
        guard let made = runIDTime(run) else { return "its run id is not a time and a random number" }
        let sinceMade = start.timeIntervalSince(made)
        guard sinceMade > -1, sinceMade <= longestAgentStep else {
            return "its run id does not match its start (\(RunRecord.timestamp(start)))"
        }
        return nil
    }

    /// The time a run id (`yyyyMMdd-HHmmss-hhhhhh`, UTC, see `RunID`) was made; nil when `run`
    /// is not one. Read by hand: it runs for every record the best search reads.
    static func runIDTime(_ run: String) -> Date? {
        let bytes = Array(run.utf8)
        guard bytes.count == 22, bytes[8] == UInt8(ascii: "-"), bytes[15] == UInt8(ascii: "-"),
              bytes[16...].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }) else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            bytes[range].reduce(0) { total, byte in
                guard let total, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                return total * 10 + Int(byte - UInt8(ascii: "0"))
            }
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              (1...12).contains(month), (1...daysIn(month, of: year)).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        let seconds = daysSince1970(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: Double(seconds))
    }

    /// Days in `month` of `year` (Gregorian).
    private static func daysIn(_ month: Int, of year: Int) -> Int {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// Days from 1970-01-01 to a Gregorian date: whole years, then the months of `year`.
    private static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let leapYearsBefore = { (year: Int) in (year - 1) / 4 - (year - 1) / 100 + (year - 1) / 400 }
        let years = (year - 1970) * 365 + leapYearsBefore(year) - leapYearsBefore(1970)
        return years + (1..<month).reduce(0) { $0 + daysIn($1, of: year) } + day - 1
    }
}
