import Foundation

/// Parsing and printing of durations such as `90s`, `5m`, `1h30m`, `250ms` (a bare number is seconds).
public enum Durations {
    /// The durations a setting or flag may give: 1 ms to 30 days.
    public static let range: ClosedRange<Double> = 0.001...(30 * 86_400)

    /// Seconds in `text`, within `range`, or a clear error.
    public static func parse(_ text: String) throws -> Double {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("h", 3600), ("m", 60), ("s", 1)]
        var rest = Substring(text.trimmingCharacters(in: .whitespaces).lowercased())
        guard !rest.isEmpty else { throw invalid(text) }
        if let plain = DecimalNumber.finite(rest) { return try bounded(plain, text) }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            guard let value = DecimalNumber.finite(number),
                  let unit = units.first(where: { rest.hasPrefix($0.suffix) }) else { throw invalid(text) }
            // Milliseconds divide (700 / 1000 is 0.7 exactly; 700 × 0.001 is not), so what
            // `canonical` writes reads back as the same number.
            total += unit.suffix == "ms" ? value / 1000 : value * unit.seconds
            rest = rest.dropFirst(unit.suffix.count)
        }
        return try bounded(total, text)
    }

    /// A short human form: `850ms`, `12.3s`, `4m05s`, `2h10m`; any double, without overflow
    /// (a record pulled from elsewhere may hold any duration).
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return Number.format(seconds) + "s" }
        if seconds < 0 { return "-" + format(-seconds) }
        if seconds < 1 { return Number.printf("%.0fms", seconds * 1000) }
        if seconds < 60 {
            return seconds == seconds.rounded() ? Number.printf("%.0fs", seconds) : Number.printf("%.1fs", seconds)
        }
        // Beyond 31 years: hours in short form, so the conversion below stays in range.
        if seconds >= 1e9 { return Number.format(seconds / 3600) + "h" }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }

    private static func bounded(_ seconds: Double, _ text: String) throws -> Double {
        guard range.contains(seconds) else { throw invalid(text) }
        return seconds
    }

    private static func invalid(_ text: String) -> AutoresearchError {
        AutoresearchError("invalid duration '\(text)'",
                          hint: "use a number with a unit from 1ms to 30 days (720h), for example 90s, 5m, 1h or 1h30m")
    }
}
