extension StringProtocol {
    /// The text with zeros in front up to `width` characters: `7` → `007`.
    func zeroPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}

/// C's `%.6g` and `%.15g` text of a double from its shortest round-trip digits (Swift's
/// `description`), without `printf`: what `Number.exact` and `Number.seconds` print for every
/// cell of a log of 100,000 runs. When the shortest digits that read back number at most P, the
/// nearest P-digit decimal to the value is those digits (two P-digit decimals, P ≤ 15, are
/// farther apart than a double's spacing), so the text is `%.Pg`'s.
extension Number {
    /// The decimal digits of a finite double (no leading or trailing zeros; empty for zero),
    /// the power of ten of the first, and the sign.
    struct ShortestDigits {
        var digits: [UInt8] = []
        var exponent = 0
        var negative = false

        init?(_ value: Double) {
            guard value.isFinite else { return nil }
            negative = value.sign == .minus
            let text = Array(value.magnitude.description.utf8)
            let e = text.firstIndex(of: UInt8(ascii: "e"))
            let mantissa = text[..<(e ?? text.endIndex)]
            var power = 0
            if let e {
                guard let parsed = Int(String(decoding: text[(e + 1)...], as: UTF8.self)) else { return nil }
                power = parsed
            }
            let point = mantissa.firstIndex(of: UInt8(ascii: ".")) ?? mantissa.endIndex
            let all = mantissa.filter { $0 != UInt8(ascii: ".") }
            guard all.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
            let leading = all.prefix { $0 == UInt8(ascii: "0") }.count
            digits = Array(all.dropFirst(leading))
            while digits.last == UInt8(ascii: "0") { digits.removeLast() }
            exponent = (point - mantissa.startIndex) - 1 - leading + power
        }

        /// The `%.Pg` text, when the digits number at most `precision`.
        func g(_ precision: Int) -> String? {
            guard digits.count <= precision else { return nil }
            let sign = negative ? "-" : ""
            guard !digits.isEmpty else { return sign + "0" }
            let text = { (bytes: ArraySlice<UInt8>) in String(decoding: bytes, as: UTF8.self) }
            if exponent < -4 || exponent >= precision {
                let fraction = digits.count > 1 ? "." + text(digits[1...]) : ""
                let power = String(abs(exponent))
                return sign + text(digits[..<1]) + fraction + (exponent < 0 ? "e-" : "e+") + (power.count < 2 ? "0" : "") + power
            }
            if exponent < 0 { return sign + "0." + String(repeating: "0", count: -exponent - 1) + text(digits[...]) }
            let whole = digits.count > exponent + 1 ? text(digits[...exponent]) : text(digits[...]) + String(repeating: "0", count: exponent + 1 - digits.count)
            return sign + whole + (digits.count > exponent + 1 ? "." + text(digits[(exponent + 1)...]) : "")
        }
    }
}

extension Number {
    /// C's `%.1f` (the charts' coordinates, two or three a dot), without `printf`: the exact
    /// magnitude of the double times ten (its product and the product's rounding error, by a
    /// fused multiply-add) rounded to an integer, ties to even, as glibc rounds; the sign as
    /// `printf` prints it (`-0.0`). Beyond 10^14 and for values that are not finite, `printf`.
    public static func tenths(_ value: Double) -> String {
        let product = value.magnitude * 10
        guard value.isFinite, product < 1e15 else { return printf("%.1f", value) }
        let error = (-product).addingProduct(value.magnitude, 10)
        let floor = product.rounded(.down), fraction = product - floor
        // `fraction` is exact (Sterbenz), and when it is not one half it is farther from one half than `error` is large.
        let up = fraction > 0.5 || (fraction == 0.5 && (error > 0 || (error == 0 && floor.truncatingRemainder(dividingBy: 2) != 0)))
        let tenths = Int64((up ? floor + 1 : floor).magnitude)
        return (value.sign == .minus ? "-" : "") + String(tenths / 10) + "." + String(tenths % 10)
    }
}
