import Foundation

/// Numbers as users read them: up to 6 significant digits.
public enum Number {
    /// C's `%.6g`; from the shortest digits when they number at most 6 (`ShortestDigits`), which
    /// is `printf`'s text without its cost (a chart of 100,000 runs formats a value per dot).
    public static func format(_ value: Double) -> String {
        if value.isNormal || value == 0, let text = ShortestDigits(value)?.g(6) { return text }
        return printf("%.6g", value)
    }
    public static func signed(_ value: Double) -> String { printf("%+.6g", value) }
    /// Seconds to the millisecond, as records keep durations: `81.250`, C's `%.3f`. A value within
    /// a millionth of a whole number of milliseconds (every duration read from a record) is
    /// printed without `printf`: `printf`'s rounding cannot differ there.
    public static func seconds(_ value: Double) -> String {
        let millis = (value.magnitude * 1000).rounded()
        guard millis < 1e9, (value.magnitude * 1000 - millis).magnitude < 1e-6 else { return printf("%.3f", value) }
        let whole = Int(millis), fraction = String(whole % 1000)
        return (value.sign == .minus ? "-" : "") + String(whole / 1000) + "." + fraction.zeroPadded(to: 3)
    }

    /// `value` formatted by C's `printf` with `format` (one conversion of a double): the same
    /// text as `String(format:)`, without its cost (a log of 100,000 runs formats 300,000 numbers).
    static func printf(_ format: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        return count < buffer.count ? String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : String(format: format, value)
    }

    /// The shortest `%g` text of `value × scale` that reads back, divided by `scale`, as `value`
    /// exactly: for what is written to be read again (settings, constraints).
    public static func exact(_ value: Double, scale: Double = 1) -> String {
        if scale == 1, value.isNormal || value == 0, let shortest = ShortestDigits(value), let text = shortest.g(6) ?? shortest.g(15) { return text }
        for digits in [6, 15] {
            let text = printf(digits == 6 ? "%.6g" : "%.15g", value * scale)
            if let back = Double(text), back / scale == value { return text }
        }
        return printf("%.17g", value * scale)
    }

    /// `new - old` as the decimals they are written as give it: 9.7 - 10 is -0.3, where the
    /// binary subtraction gives -0.30000000000000071 (which a TSV of deltas would show).
    public static func difference(_ new: Double, _ old: Double) -> Double {
        let raw = new - old
        let digits = max(fractionDigits(new), fractionDigits(old))
        let scale = pow(10, Double(digits))
        // Beyond 2^52 the scaled difference has no fraction left to round away.
        guard raw.isFinite, digits <= 15, abs(raw * scale) < 0x1p52 else { return raw }
        return (raw * scale).rounded() / scale
    }

    /// The digits after the point in the shortest decimal that reads back as `value` (Swift's
    /// description: "9.7" has 1, "1.5e-05" has 6, "10.0" and "1e+20" have none).
    static func fractionDigits(_ value: Double) -> Int {
        // A whole number's shortest decimal has no digit past the point (`10.0`, `1e+20`).
        guard value.isFinite, value != value.rounded() else { return 0 }
        let text = "\(value)".lowercased()
        let parts = text.split(separator: "e", maxSplits: 1)
        let exponent = parts.count == 2 ? Int(parts[1]) ?? 0 : 0
        let mantissa = parts[0].split(separator: ".", maxSplits: 1)
        let fraction = mantissa.count == 2 && mantissa[1] != "0" ? mantissa[1].count : 0
        return max(0, fraction - exponent)
    }
}

/// A margin given absolutely (`0.01`) or relative to the value it is measured from (`1%`).
public enum Threshold: Sendable, Equatable, CustomStringConvertible {
    case absolute(Double)
    case relative(Double)

    /// Reads `0.01` or `1%`; nil when the text is neither a finite, non-negative number nor a percentage.
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") {
            guard let percent = DecimalNumber.finite(trimmed.dropLast()), percent >= 0 else { return nil }
            self = .relative(percent / 100)
        } else {
            guard let amount = DecimalNumber.finite(trimmed), amount >= 0 else { return nil }
            self = .absolute(amount)
        }
    }

    /// The margin in the metric's units, measured from `value`.
    public func amount(from value: Double) -> Double {
        switch self {
        case .absolute(let amount): return amount
        case .relative(let fraction): return fraction * abs(value)
        }
    }

    public var description: String {
        switch self {
        case .absolute(let amount): return Number.exact(amount)
        case .relative(let fraction): return Number.exact(fraction, scale: 100) + "%"
        }
    }
}

/// The statistics the decision uses: robust to the odd wild sample.
public enum Statistics {
    /// The median; nil for no values.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The noise width of samples: the median absolute deviation scaled by 1.4826, which
    /// estimates the standard deviation of normally distributed noise. Nil for fewer than two samples.
    public static func noiseWidth(_ values: [Double]) -> Double? {
        guard values.count >= 2, let center = median(values) else { return nil }
        // Six significant digits are plenty for a width, and keep records readable.
        return median(values.map { abs($0 - center) }).flatMap { Double(String(format: "%.6g", $0 * 1.4826)) }
    }
}

/// A bound on a metric, as written in the configuration: `peak_vram_mb <= 40000`.
public struct Constraint: Sendable, Equatable, CustomStringConvertible {
    public enum Comparison: String, Sendable, CaseIterable {
        // Two-character operators first, so `<=` is not read as `<`.
        case lessOrEqual = "<=", greaterOrEqual = ">=", equal = "==", notEqual = "!=", less = "<", greater = ">"

        func holds(_ value: Double, _ bound: Double) -> Bool {
            switch self {
            case .lessOrEqual: return value <= bound
            case .greaterOrEqual: return value >= bound
            case .equal: return value == bound
            case .notEqual: return value != bound
            case .less: return value < bound
            case .greater: return value > bound
            }
        }
    }

    public let metric: String
    public let comparison: Comparison
    public let bound: Double

    /// Reads `NAME OP NUMBER` (spaces optional); nil when the text is not of that form.
    public init?(_ text: String) {
        for comparison in Comparison.allCases {
            guard let range = text.range(of: comparison.rawValue) else { continue }
            let name = text[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.contains(where: \.isWhitespace),
                  let bound = DecimalNumber.finite(text[range.upperBound...].trimmingCharacters(in: .whitespaces)) else { return nil }
            self.metric = name
            self.comparison = comparison
            self.bound = bound
            return
        }
        return nil
    }

    /// Why `metrics` break the constraint, or nil when they meet it. A missing metric breaks it:
    /// a bound that cannot be checked is not met.
    public func breach(in metrics: [String: Double]) -> String? {
        guard let value = metrics[metric] else { return "\(metric) was not reported (constraint \(self))" }
        return comparison.holds(value, bound) ? nil : "\(metric)=\(Number.format(value)) breaks \(self)"
    }

    public var description: String { "\(metric) \(comparison.rawValue) \(Number.exact(bound))" }
}

/// How the primary metric of several targets becomes one value.
public enum Aggregate: Sendable, Equatable, CustomStringConvertible {
    case mean, min, max
    /// The value of one target.
    case target(String)

    public init(_ text: String) {
        switch text {
        case "mean": self = .mean
        case "min": self = .min
        case "max": self = .max
        default: self = .target(text)
        }
    }

    /// Combines per-target values given in target order; nil when the named target is not among them.
    func combine(_ values: [(target: String, value: Double)]) -> Double? {
        switch self {
        case .mean: return values.isEmpty ? nil : values.map(\.value).reduce(0, +) / Double(values.count)
        case .min: return values.map(\.value).min()
        case .max: return values.map(\.value).max()
        case .target(let name): return values.first { $0.target == name }?.value
        }
    }

    public var description: String {
        switch self {
        case .mean: return "mean"
        case .min: return "min"
        case .max: return "max"
        case .target(let name): return name
        }
    }
}

/// Keep or not, and why.
public struct Verdict: Sendable, Equatable {
    public let keep: Bool
    /// For a candidate that is better, but not by enough: the gate it did not pass.
    public let reason: String?
}

extension Experiment {
    /// The improvement a candidate must exceed over `best`: the larger of `minDelta` and
    /// `noiseWidths` × the best's noise width (when known).
    public func gate(over best: RunRecord) -> (amount: Double, explanation: String) {
        guard let bestValue = best.value else { return (0, "") }
        var parts: [String] = []
        var amount = 0.0
        if let minDelta {
            amount = minDelta.amount(from: bestValue)
            parts.append("min-delta \(minDelta)")
        }
        if let noise = best.noise, noiseWidths > 0 {
            amount = Swift.max(amount, noiseWidths * noise)
            parts.append("\(Number.format(noiseWidths)) × noise \(Number.format(noise))")
        }
        return (amount, parts.joined(separator: ", "))
    }

    /// Whether a candidate measured at `value` is kept over `best`: strictly better, and better
    /// by more than the gate.
    public func judge(_ value: Double, against best: RunRecord) -> Verdict {
        guard let bestValue = best.value else { return Verdict(keep: true, reason: nil) }
        let improvement = direction == .lower ? bestValue - value : value - bestValue
        guard improvement > 0 else { return Verdict(keep: false, reason: nil) }
        let gate = gate(over: best)
        guard improvement > gate.amount else {
            return Verdict(keep: false, reason: "better by \(Number.format(improvement)), not more than the gate \(Number.format(gate.amount)) (\(gate.explanation))")
        }
        return Verdict(keep: true, reason: nil)
    }
}
