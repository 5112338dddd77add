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
/// for many objects with the same keys orders them once (`order`).
public struct JSONWriter {
    /// A value Foundation refuses to write (a non-finite number, a type JSON has no form for).
    public struct Unwritable: Error {}

    /// Every key met so far, in Foundation's order, and each one's place in it.
    private var orderedKeys: [String] = []
    private var places: [String: Int] = [:]
    /// The order of the last key sequences met (objects built field by field in the same order
    /// have the same sequence): positions in the sequence, in Foundation's order of their keys,
    /// and each key written, quoted and followed by its colon.
    private var orders: [(keys: [String], order: [Int], written: [[UInt8]])] = []

    /// Keys remembered at most: past this, an object with a key not yet met is ordered by
    /// Foundation's comparison alone (ledgers with a key of their own per record stay linear).
    private static let rememberedKeys = 4096
    private static let rememberedOrders = 16

    public init() {}

    /// The JSON object of `fields` whose values are not nil, as Foundation writes
    /// `fields.compactMapValues { $0 }`. Values: dictionaries with string keys, arrays, strings,
    /// numbers, Bools, nil (null) inside them.
    public mutating func object(_ fields: [String: Any?]) throws -> String {
        try object(fields.compactMap { key, value in try value.map { (key, try JSONValue(value: $0)) } })
    }

    /// The JSON object of `fields`, in any order, with distinct keys: as `object(_:)` writes the
    /// dictionary of them. A writer kept for objects built the same way orders their keys once.
    public mutating func object(_ fields: [(key: String, value: JSONValue)]) throws -> String {
        var bytes: [UInt8] = []
        try write(fields, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The JSON object of the `fields` that are not nil, in the order given: for a file this
    /// tool reads back, where the order does not matter and no key needs ordering.
    public static func object(inOrder fields: [(key: String, value: JSONValue?)]) throws -> [UInt8] {
        var writer = JSONWriter(), bytes: [UInt8] = [UInt8(ascii: "{")]
        for case let (key, value?) in fields {
            if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
            write(key, into: &bytes)
            bytes.append(UInt8(ascii: ":"))
            try writer.write(value, into: &bytes)
        }
        return bytes + [UInt8(ascii: "}")]
    }

    /// Appends the JSON object of `fields` to `bytes`, as `object(_:)` writes it.
    public mutating func write(_ fields: [(key: String, value: JSONValue)], into bytes: inout [UInt8]) throws {
        try write(.object(fields), into: &bytes)
    }

    private mutating func write(_ value: JSONValue, into bytes: inout [UInt8]) throws {
        switch value {
        case .null: bytes += Self.null
        case .bool(let bool): bytes += bool ? Self.true : Self.false
        case .integer(let number): bytes += number.description.utf8
        case .number(let number): try Self.write(number, into: &bytes)
        case .float(let number): try Self.write(Double(number), description: number.description, into: &bytes)
        case .string(let string): Self.write(string, into: &bytes)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                try write(element, into: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let fields):
            bytes.append(UInt8(ascii: "{"))
            let (order, keys) = self.order(fields.map(\.key))
            for (index, position) in order.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes += keys[position]
                try write(fields[position].value, into: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// The positions of `keys` in Foundation's order of them, and each key written (quoted, then
    /// a colon): remembered for the last sequences met, else by their places among the keys met
    /// so far. Only ASCII keys are remembered: Swift takes canonically equivalent strings (`á`
    /// and `a` with U+0301, the Kelvin sign and `K`) for one, which Foundation may order apart
    /// and which are written apart; objects with another key are ordered by Foundation's comparison.
    mutating func order(_ keys: [String]) -> (order: [Int], written: [[UInt8]]) {
        let written = { keys.map { key in
            var bytes: [UInt8] = []
            Self.write(key, into: &bytes)
            return bytes + [UInt8(ascii: ":")]
        } }
        guard keys.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) else {
            return (keys.indices.sorted { Self.foundationOrder(keys[$0], keys[$1]) }, written())
        }
        if let known = orders.first(where: { $0.keys == keys }) { return (known.order, known.written) }
        let order = placed(keys)
        if orders.count == Self.rememberedOrders { orders.removeFirst() }
        orders.append((keys, order, written()))
        return (order, orders[orders.count - 1].written)
    }

    /// The positions of ASCII `keys` in Foundation's order: by their places among the keys met so
    /// far, after placing the new ones (each by a binary search with Foundation's comparison).
    private mutating func placed(_ keys: [String]) -> [Int] {
        for key in keys where places[key] == nil {
            guard orderedKeys.count < Self.rememberedKeys else {
                return keys.indices.sorted { Self.foundationOrder(keys[$0], keys[$1]) }
            }
            var low = 0, high = orderedKeys.count
            while low < high {
                let middle = (low + high) / 2
                if Self.foundationOrder(orderedKeys[middle], key) { low = middle + 1 } else { high = middle }
            }
            orderedKeys.insert(key, at: low)
            for place in low..<orderedKeys.count { places[orderedKeys[place]] = place }
        }
        let ranks = keys.map { places[$0]! }
        return keys.indices.sorted { ranks[$0] < ranks[$1] }
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

/// A JSON value as `JSONWriter` writes it.
public enum JSONValue {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case float(Float)
    case string(String)
    case array([JSONValue])
    /// Fields in any order (written in Foundation's order of their keys), keys distinct.
    case object([(key: String, value: JSONValue)])

    /// `value` as Foundation's `JSONSerialization` reads a value to write: a string, a Bool, an
    /// integer, a double or float, an array, a dictionary with string keys, nil or `NSNull` for
    /// null. Foundation tries the types in another order (Double after the collections): no value
    /// is of two of them, so the text is the same.
    public init(value: Any?) throws {
        guard let value else { self = .null; return }
        switch value {
        case let string as String: self = .string(string)
        case let bool as Bool: self = .bool(bool)
        case let number as Int: self = .integer(number)
        case let number as Double: self = .number(number)
        case let number as Int32: self = .integer(Int(number))
        case let number as Int64: self = .integer(Int(number))
        case let strings as [String]: self = .array(strings.map(JSONValue.string))
        case let numbers as [Double]: self = .array(numbers.map(JSONValue.number))
        case let array as [Any?]: self = .array(try array.map(JSONValue.init(value:)))
        case let object as [String: Any?]: self = .object(try object.map { ($0.key, try JSONValue(value: $0.value)) })
        case let number as Float: self = .float(number)
        case is NSNull: self = .null
        default: throw JSONWriter.Unwritable()
        }
    }

    /// The fields whose value is not nil (an object's absent fields left out).
    public static func present(_ fields: [(String, JSONValue?)]) -> [(key: String, value: JSONValue)] {
        fields.compactMap { key, value in value.map { (key, $0) } }
    }
}
