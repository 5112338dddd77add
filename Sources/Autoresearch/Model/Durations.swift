import Foundation

/// Parsing and printing of durations such as `90s`, `5m`, `1h30m`, `250ms` (a bare number is seconds).
public enum Durations {
    /// Seconds in `text`, or a clear error.
    public static func parse(_ text: String) throws -> Double {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("h", 3600), ("m", 60), ("s", 1)]
        var rest = Substring(text.trimmingCharacters(in: .whitespaces).lowercased())
        guard !rest.isEmpty else { throw invalid(text) }
        if let plain = Double(rest) {
            guard plain.isFinite, plain > 0 else { throw invalid(text) }
            return plain
        }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            rest = rest.dropFirst(number.count)
            guard let value = Double(number),
                  let unit = units.first(where: { rest.hasPrefix($0.suffix) }) else { throw invalid(text) }
            total += value * unit.seconds
            rest = rest.dropFirst(unit.suffix.count)
        }
        guard total > 0, total.isFinite else { throw invalid(text) }
        return total
    }

    /// A short human form: `850ms`, `12.3s`, `4m05s`, `2h10m`.
    public static func format(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 60 {
            return seconds == seconds.rounded() ? "\(Int(seconds))s" : String(format: "%.1fs", seconds)
        }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }

    private static func invalid(_ text: String) -> AutoresearchError {
        AutoresearchError("invalid duration '\(text)'", hint: "use a positive number with a unit, for example 90s, 5m, 1h or 1h30m")
    }
}
