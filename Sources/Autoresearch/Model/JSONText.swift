import Foundation

/// Writes JSON values as Foundation's `JSONSerialization` does with `.sortedKeys` and
/// `.withoutEscapingSlashes`, byte for byte, without it: `log --format json` of 100,000 runs spent
/// 25 s there, most of it ordering each object's keys with a locale's collator. Strings are
/// escaped per RFC 8259 (`"`, `\`, `\b \f \n \r \t`, other controls as `\u00XX`; everything else,
/// `/` and non-ASCII included, as its UTF-8; a Swift string holds no lone surrogate). Numbers are
/// Swift's shortest round-trip text (`description`, without a trailing `.0`), as Foundation writes
/// them; a non-finite number or a value of another type is refused, as Foundation refuses it.
/// Keys are in Foundation's order (numeric, case-insensitive, then forced, in the system locale),
/// asked of Foundation once per distinct ASCII key and remembered by this writer: a writer kept
/// for many objects with the same keys orders them with integer comparisons.
public struct JSONWriter {
    /// A value Foundation refuses to write (a non-finite number, a type JSON has no form for).
    public struct Unwritable: Error {}

    /// Every key met so far, in Foundation's order, and each one's place in it.
    private var orderedKeys: [String] = []
    private var places: [String: Int] = [:]

    /// Keys remembered at most: past this, an object with a key not yet met is ordered by
    /// Foundation's comparison alone (ledgers with a key of their own per record stay linear).
    private static let rememberedKeys = 4096

    public init() {}

    /// The JSON object of `fields` whose values are not nil, as Foundation writes
    /// `fields.compactMapValues { $0 }`. Values: dictionaries with string keys, arrays, strings,
    /// numbers, Bools, nil (null) inside them.
    public mutating func object(_ fields: [String: Any?]) throws -> String {
        var bytes: [UInt8] = []
        try writeObject(fields, omittingNils: true, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `value` as JSON to `bytes`. Foundation tries the types in another order (Double
    /// after the collections): no value is of two of them, so the text is the same.
    private mutating func write(_ value: Any?, into bytes: inout [UInt8]) throws {
        guard let value else { return bytes += Self.null }
        switch value {
        case let string as String: Self.write(string, into: &bytes)
        case let bool as Bool: bytes += bool ? Self.true : Self.false
        case let number as Int: bytes += number.description.utf8
        case let number as Double: try Self.write(number, into: &bytes)
        case let number as Int32: bytes += number.description.utf8
        case let number as Int64: bytes += number.description.utf8
        case let number as UInt64: bytes += number.description.utf8
        case let strings as [String]: try Self.writeArray(strings, into: &bytes) { Self.write($0, into: &$1) }
        case let numbers as [Double]: try Self.writeArray(numbers, into: &bytes) { try Self.write($0, into: &$1) }
        case let array as [Any?]: try Self.writeArray(array, into: &bytes) { try write($0, into: &$1) }
        case let object as [String: Any?]: try writeObject(object, omittingNils: false, into: &bytes)
        case let number as Float: try Self.write(Double(number), description: number.description, into: &bytes)
        case is NSNull: bytes += Self.null
        default: throw Unwritable()
        }
    }

    private static func writeArray<Element>(_ array: [Element], into bytes: inout [UInt8],
                                            element write: (Element, inout [UInt8]) throws -> Void) rethrows {
        bytes.append(UInt8(ascii: "["))
        for (index, element) in array.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            try write(element, &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    private mutating func writeObject(_ object: [String: Any?], omittingNils: Bool, into bytes: inout [UInt8]) throws {
        bytes.append(UInt8(ascii: "{"))
        let fields = omittingNils ? object.filter { $0.value != nil } : object
        for (index, (key, value)) in ordered(Array(fields)).enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.write(key, into: &bytes)
            bytes.append(UInt8(ascii: ":"))
            try write(value, into: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// `fields` in the order of their keys in Foundation: by their places among the keys met so far, after placing
    /// the new ones (each by a binary search with Foundation's comparison). Only ASCII keys are
    /// remembered: Swift takes canonically equivalent strings (`á`, `a` and U+0301) for one
    /// key, which Foundation may order apart.
    mutating func ordered<Value>(_ fields: [(key: String, value: Value)]) -> [(key: String, value: Value)] {
        for (key, _) in fields where places[key] == nil {
            guard orderedKeys.count < Self.rememberedKeys, key.utf8.allSatisfy({ $0 < 0x80 }) else {
                return fields.sorted { Self.foundationOrder($0.key, $1.key) }
            }
            var low = 0, high = orderedKeys.count
            while low < high {
                let middle = (low + high) / 2
                if Self.foundationOrder(orderedKeys[middle], key) { low = middle + 1 } else { high = middle }
            }
            orderedKeys.insert(key, at: low)
            for place in low..<orderedKeys.count { places[orderedKeys[place]] = place }
        }
        return fields.map { (place: places[$0.key]!, field: $0) }.sorted { $0.place < $1.place }.map(\.field)
    }

    /// True when Foundation's `JSONSerialization` writes key `a` before key `b` (`.sortedKeys`).
    static func foundationOrder(_ a: String, _ b: String) -> Bool {
        NSString(string: a).compare(b, options: [.numeric, .caseInsensitive, .forcedOrdering],
                                    range: NSRange(location: 0, length: a.utf16.count), locale: NSLocale.system) == .orderedAscending
    }

    /// A number as Foundation writes it: Swift's shortest round-trip text without a trailing `.0`.
    static func write(_ number: Double, description: String? = nil, into bytes: inout [UInt8]) throws {
        guard number.isFinite else { throw Unwritable() }
        let text = (description ?? number.description).utf8
        bytes += text.count > 2 && text.suffix(2).elementsEqual(".0".utf8) ? text.dropLast(2) : text[...]
    }

    /// A string, quoted and escaped: the bytes that need no escape are copied in runs.
    static func write(_ string: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var copied = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes += utf8[copied..<index]
                bytes += escape(byte)
                copied = index + 1
            }
            bytes += utf8[copied...]
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// The escape of a quote, a backslash or a control character.
    private static func escape(_ byte: UInt8) -> [UInt8] {
        switch byte {
        case UInt8(ascii: "\""): return Array(#"\""#.utf8)
        case UInt8(ascii: "\\"): return Array(#"\\"#.utf8)
        case 0x08: return Array(#"\b"#.utf8)
        case 0x0C: return Array(#"\f"#.utf8)
        case 0x0A: return Array(#"\n"#.utf8)
        case 0x0D: return Array(#"\r"#.utf8)
        case 0x09: return Array(#"\t"#.utf8)
        default:
            let hex = Array("0123456789abcdef".utf8)
            return Array(#"\u00"#.utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        }
    }

    private static let null = Array("null".utf8), `true` = Array("true".utf8), `false` = Array("false".utf8)
}
