import Foundation

/// The dates `log --since/--until` take, git's common forms (its "approxidate"): ISO dates and
/// times (`2026-11-30`, `2026-11-30 14:00`, `2026-11-30T14:00:00Z`, with an offset or in local
/// time), `@SECONDS`, `now`, `today`, `yesterday`, `N.UNIT.ago` (`2.hours.ago`, `3 days ago`;
/// seconds to years; dots or spaces), optionally followed by `midnight` or `noon`
/// (`yesterday.noon`). As in git, `yesterday` is now less a day.
public enum ApproxDate {
    /// The date `text` names, relative to `now` when it is relative; dates without an offset are
    /// in `timeZone`. Throws an error naming the accepted forms when it is none of them.
    public static func parse(_ text: String, now: Date = Date(), timeZone: TimeZone = .current) throws -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let date = absolute(trimmed, timeZone: timeZone) ?? relative(trimmed, now: now, timeZone: timeZone) { return date }
        throw AutoresearchError("cannot read '\(text)' as a date",
                                hint: "write an ISO date (2026-11-30, '2026-11-30 14:00', 2026-11-30T14:00:00Z), @SECONDS, now, today, yesterday, or N.UNIT.ago (2.hours.ago, '3 days ago')")
    }

    /// `@SECONDS`, `YYYY-MM-DD`, then `[T ]HH:MM[:SS[.fff]]`, then `Z`, `±HH:MM` or `±HHMM`. A
    /// record's own timestamp is read as records are, so that it names exactly that record's start.
    static func absolute(_ text: String, timeZone: TimeZone) -> Date? {
        if text.contains("T"), let date = Timestamp.parse(text) { return date }
        if text.hasPrefix("@"), let seconds = Double(text.dropFirst()) { return Date(timeIntervalSince1970: seconds) }
        let pattern = #/(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?/#
        guard let match = text.wholeMatch(of: pattern)?.output else { return nil }
        var zone = timeZone
        if let offset = match.8.map(String.init), offset != "Z" {
            let digits = offset.dropFirst().replacingOccurrences(of: ":", with: "")
            let seconds = (Int(digits.prefix(2))! * 60 + Int(digits.suffix(2))!) * 60
            zone = TimeZone(secondsFromGMT: offset.hasPrefix("-") ? -seconds : seconds) ?? timeZone
        } else if match.8 != nil {
            zone = TimeZone(secondsFromGMT: 0)!
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let components = DateComponents(year: Int(match.1), month: Int(match.2), day: Int(match.3), hour: match.4.flatMap { Int($0) } ?? 0,
                                        minute: match.5.flatMap { Int($0) } ?? 0, second: match.6.flatMap { Int($0) } ?? 0)
        guard let month = components.month, (1...12).contains(month), let day = components.day, (1...31).contains(day),
              components.hour! < 24, components.minute! < 60, components.second! < 61,
              let date = calendar.date(from: components), calendar.component(.day, from: date) == day else { return nil }
        let fraction = match.7.flatMap { Double("0." + $0) } ?? 0
        return date.addingTimeInterval(fraction)
    }

    /// `now`, `today`, `yesterday`, `N UNIT[s] ago`, words separated by dots or spaces, and a
    /// final `midnight` or `noon` setting the time of that day.
    static func relative(_ text: String, now: Date, timeZone: TimeZone) -> Date? {
        var words = text.lowercased().split(whereSeparator: { $0 == "." || $0 == " " }).map(String.init)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var hour: Int?
        if let last = words.last, let time = ["midnight": 0, "noon": 12][last] {
            hour = time
            words.removeLast()
        }
        var date: Date
        switch words {
        case ["now"], ["today"], []: date = now
        case ["yesterday"]: date = now.addingTimeInterval(-86_400)
        case let words where words.count == 3 && words[2] == "ago":
            guard let count = Int(words[0]), let unit = unit(words[1]),
                  let earlier = calendar.date(byAdding: unit, value: -count, to: now) else { return nil }
            date = earlier
        default: return nil
        }
        guard !words.isEmpty || hour != nil else { return nil }
        if let hour { date = calendar.date(bySettingHour: hour, minute: 0, second: 0, of: date) ?? date }
        return date
    }

    /// `hours` or `hour` (any unit from seconds to years) as a calendar component.
    private static func unit(_ word: String) -> Calendar.Component? {
        let units: [String: Calendar.Component] = ["second": .second, "minute": .minute, "hour": .hour, "day": .day,
                                                   "week": .weekOfYear, "month": .month, "year": .year]
        return units[word] ?? (word.hasSuffix("s") ? units[String(word.dropLast())] : nil)
    }
}
