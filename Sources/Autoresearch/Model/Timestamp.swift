import Foundation

/// The records' timestamps, `2026-11-23T12:51:50.211Z` (UTC, milliseconds), read and written
/// without a date formatter: a ledger of 100,000 records parses 100,000 of them. Any other
/// ISO 8601 form is left to a formatter made once.
enum Timestamp {
    /// UTC with milliseconds, rounded to the nearest millisecond.
    static func format(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        guard milliseconds.magnitude < 2.5e14 else { return Fallback.string(from: date) }
        let total = Int64(milliseconds)
        let (days, millisecondOfDay) = floorDivision(total, 86_400_000)
        let civil = CivilDate(daysSince1970: days)
        guard (0...9999).contains(civil.year) else { return Fallback.string(from: date) }
        let second = millisecondOfDay / 1000
        // Written in place, digit by digit: `log --format json` formats one per row.
        return String(unsafeUninitializedCapacity: 24) { text in
            for (number, width, end) in [(civil.year, 4, 4), (civil.month, 2, 7), (civil.day, 2, 10), (second / 3600, 2, 13),
                                         (second / 60 % 60, 2, 16), (second % 60, 2, 19), (millisecondOfDay % 1000, 3, 23)] {
                var rest = number
                for position in stride(from: end - 1, through: end - width, by: -1) {
                    text[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
            }
            for (position, separator) in [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")] as [(Int, Unicode.Scalar)] {
                text[position] = UInt8(ascii: separator)
            }
            return 24
        }
    }

    /// Reads the format `format` writes; other ISO 8601 forms (no fraction, other precision, an
    /// offset) through a formatter. Nil when it is no timestamp.
    static func parse(_ text: String) -> Date? {
        exactFormat(text) ?? Fallback.date(from: text)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` with a valid date and time; nil for anything else.
    private static func exactFormat(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24 else { return nil }
        let separators: [(Int, UInt8)] = [(4, 0x2D), (7, 0x2D), (10, 0x54), (13, 0x3A), (16, 0x3A), (19, 0x2E), (23, 0x5A)]
        guard separators.allSatisfy({ bytes[$0.0] == $0.1 }) else { return nil }
        func number(_ start: Int, _ count: Int) -> Int? {
            var value = 0
            for byte in bytes[start..<(start + count)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), let millisecond = number(20, 3),
              (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        let days = CivilDate(year: year, month: month, day: day).daysSince1970
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return Date(timeIntervalSince1970: Double(seconds) + Double(millisecond) / 1000)
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int) {
        let quotient = value >= 0 ? value / divisor : (value - divisor + 1) / divisor
        return (quotient, Int(value - quotient * divisor))
    }

    /// The formatters for timestamps in another form, made once and used under a lock.
    private enum Fallback {
        nonisolated(unsafe) private static let withFraction = formatter([.withInternetDateTime, .withFractionalSeconds])
        nonisolated(unsafe) private static let withoutFraction = formatter([.withInternetDateTime])
        private static let lock = NSLock()

        static func string(from date: Date) -> String { lock.withLock { withFraction.string(from: date) } }

        static func date(from text: String) -> Date? {
            lock.withLock { withFraction.date(from: text) ?? withoutFraction.date(from: text) }
        }

        private static func formatter(_ options: ISO8601DateFormatter.Options) -> ISO8601DateFormatter {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            return formatter
        }
    }
}

/// A day of the proleptic Gregorian calendar, converted to and from days since 1970-01-01
/// (eras of 400 years, 146,097 days each, years counted from March so the leap day comes last).
struct CivilDate {
    let year: Int
    let month: Int
    let day: Int

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    init(daysSince1970 days: Int64) {
        let shifted = days + 719_468  // days from 0000-03-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let marchMonth = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * marchMonth + 2) / 5 + 1)
        month = Int(marchMonth < 10 ? marchMonth + 3 : marchMonth - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
    }

    var daysSince1970: Int64 {
        let marchYear = Int64(month <= 2 ? year - 1 : year)
        let era = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
        let yearOfEra = marchYear - era * 400
        let dayOfYear = Int64((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1)
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
