/// The one grammar for numbers read from evaluators, metric files and settings: a decimal with
/// an optional sign, fraction and exponent (`7`, `-1.5e-3`, `4.`, `.5`, `+2E6`). `nan`, `inf` and
/// `infinity` (any case, signed) are numbers that are not finite; anything else (`4,5`, `0x10`,
/// `1_000`, `4.5.6`, `4.5abc`, spaces) is not a number. Swift's `Double(_:)` also reads
/// hexadecimal, which an evaluator printing `0x10` does not mean.
public enum DecimalNumber {
    public enum Reading: Equatable, Sendable {
        case finite(Double)
        /// `nan`, `inf`, or a decimal too large for a double (`1e400`).
        case notFinite
        case malformed
    }

    /// How `text` reads under the grammar.
    public static func read<Text: StringProtocol>(_ text: Text) -> Reading {
        let bytes = Array(text.utf8)
        guard isDecimal(bytes) else { return isNonFiniteWord(bytes) ? .notFinite : .malformed }
        guard let value = Double(String(decoding: bytes, as: UTF8.self)), value.isFinite else { return .notFinite }
        return .finite(value)
    }

    /// The value of `text` when it is a finite decimal, else nil.
    public static func finite<Text: StringProtocol>(_ text: Text) -> Double? {
        if case .finite(let value) = read(text) { return value }
        return nil
    }

    /// True when `bytes` is `[sign] digits [. digits] [e [sign] digits]`, with a digit before or after the point.
    private static func isDecimal(_ bytes: [UInt8]) -> Bool {
        var index = skipSign(bytes, from: 0)
        let integerDigits = countDigits(bytes, from: index)
        index += integerDigits
        var fractionDigits = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            fractionDigits = countDigits(bytes, from: index)
            index += fractionDigits
        }
        guard integerDigits + fractionDigits > 0 else { return false }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index = skipSign(bytes, from: index + 1)
            let exponentDigits = countDigits(bytes, from: index)
            guard exponentDigits > 0 else { return false }
            index += exponentDigits
        }
        return index == bytes.count
    }

    /// `nan`, `inf` or `infinity` in any case, optionally signed.
    private static func isNonFiniteWord(_ bytes: [UInt8]) -> Bool {
        let word = String(decoding: bytes[skipSign(bytes, from: 0)...], as: UTF8.self).lowercased()
        return word == "nan" || word == "inf" || word == "infinity"
    }

    private static func skipSign(_ bytes: [UInt8], from index: Int) -> Int {
        index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) ? index + 1 : index
    }

    private static func countDigits(_ bytes: [UInt8], from index: Int) -> Int {
        bytes[min(index, bytes.count)...].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
    }
}
