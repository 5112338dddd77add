import Foundation

/// Finds a metric in evaluation output, line by line, without keeping the output.
///
/// Accepted forms (the last occurrence in the output wins): `NAME: VALUE` (Karpathy's
/// `val_bpb:          0.9979`), `NAME=VALUE`, `METRIC NAME=VALUE` (pi-autoresearch), and the name
/// inside a line, e.g. `step 10 loss=0.5 acc=0.9`. The name must stand alone: `val_loss` does not
/// match `loss`.
public struct MetricScanner: Sendable {
    public let name: String
    /// The last value found (nil if none).
    public private(set) var value: Double?
    /// The text of the last occurrence when it was not a finite number (`nan`, `inf`, `abc`).
    public private(set) var invalidValue: String?
    private let nameBytes: [UInt8]

    public init(name: String) {
        self.name = name
        nameBytes = Array(name.utf8)
    }

    /// Looks at one line of output. Works on its UTF-8 bytes: an evaluator may print gigabytes,
    /// and Character-level search costs microseconds a line.
    public mutating func scan(_ line: Substring) {
        var line = line
        guard let token = line.withUTF8({ Self.lastOccurrence(of: nameBytes, in: $0) }) else { return }
        if let number = DecimalNumber.finite(token) {
            value = number
            invalidValue = nil
        } else {
            value = nil
            invalidValue = token.isEmpty ? "(nothing)" : String(token.prefix(40))
        }
    }

    /// The value text of the last `NAME: VALUE` / `NAME=VALUE` in `bytes` where the name stands alone.
    private static func lastOccurrence(of name: [UInt8], in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard let first = name.first, bytes.count >= name.count else { return nil }
        var last: String?
        var start = 0
        while start + name.count <= bytes.count {
            guard bytes[start] == first, zip(name.indices, start...).allSatisfy({ name[$0] == bytes[$1] }),
                  start == 0 || !isNameByte(bytes[start - 1]) else {
                start += 1
                continue
            }
            var index = start + name.count
            start += 1
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") || bytes[index] == UInt8(ascii: "=") else { continue }
            index += 1
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
            var end = index
            while end < bytes.count, !isValueEnd(bytes, at: end) { end += 1 }
            last = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self)
        }
        return last
    }

    /// Letters, digits, `_`, `-`, `.`, and any byte of a non-ASCII character.
    static func isNameByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    /// Whitespace, `;`, `}`, or a `,` not followed by a digit: where a value ends. `loss=0.5,acc=0.9`
    /// reads 0.5, while the decimal comma of `4,5` stays in the value, which is then not a number.
    private static func isValueEnd(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        let byte = bytes[index]
        if byte == UInt8(ascii: ",") {
            return index + 1 == bytes.count || !(bytes[index + 1] >= UInt8(ascii: "0") && bytes[index + 1] <= UInt8(ascii: "9"))
        }
        return byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
            || byte == 0x0B || byte == 0x0C || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "}")
    }
}

/// Collects every metric the output reports on a line of its own: `NAME: VALUE`, `NAME=VALUE`
/// or `METRIC NAME=VALUE`, the last value of each name, names in the order first seen.
public struct MetricLines: Sendable {
    /// At most this many names are kept (an evaluator printing a table must not bloat the record).
    public static let maxNames = 64

    public private(set) var names: [String] = []
    public private(set) var values: [String: Double] = [:]

    public init() {}

    /// Looks at one line of output (its UTF-8 bytes, as `MetricScanner` does).
    public mutating func scan(_ line: Substring) {
        var line = line
        guard let (key, value) = line.withUTF8(Self.metric(in:)) else { return }
        if values[key] == nil {
            guard names.count < Self.maxNames else { return }
            names.append(key)
        }
        values[key] = value
    }

    /// The name and value of a line that is only `[METRIC ]NAME: VALUE` or `NAME=VALUE`.
    private static func metric(in bytes: UnsafeBufferPointer<UInt8>) -> (String, Double)? {
        func isBlank(_ index: Int) -> Bool { bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") }
        var index = 0
        while index < bytes.count, isBlank(index) { index += 1 }
        let prefix = Array("METRIC ".utf8)
        if bytes.count - index > prefix.count, zip(prefix, bytes[index...]).allSatisfy(==) {
            index += prefix.count
            while index < bytes.count, isBlank(index) { index += 1 }
        }
        let nameStart = index
        while index < bytes.count, MetricScanner.isNameByte(bytes[index]) || bytes[index] == UInt8(ascii: "/") { index += 1 }
        // A name starts with a letter or `_`.
        guard index > nameStart, case let first = bytes[nameStart] | 0x20, first >= 0x80 || bytes[nameStart] == UInt8(ascii: "_")
                || (first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z")) else { return nil }
        let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[nameStart..<index]), as: UTF8.self)
        while index < bytes.count, isBlank(index) { index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") || bytes[index] == UInt8(ascii: "=") else { return nil }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[(index + 1)...]), as: UTF8.self)
        guard let value = DecimalNumber.finite(text.trimmingCharacters(in: .whitespaces)) else { return nil }
        return (name, value)
    }

    /// The metrics found, in the order first seen.
    public var ordered: [(name: String, value: Double)] { names.map { ($0, values[$0]!) } }
}

/// Reads the metrics JSON file an evaluator writes, under its contract (seed 001's
/// `metrics.json`): it must be valid JSON; `ok`, when present, must be `true`; every required key
/// must exist and not be null; the metric must be a finite number.
public enum MetricsFile {
    /// Why a metrics file does not count as a pass: `crash` when the evaluator said it failed
    /// (`ok` is not true), `no-metric` for a missing, malformed or non-finite value.
    public struct Failure: Error, Sendable {
        public let status: RunStatus
        public let reason: String
    }

    /// What a valid file holds.
    public struct Contents: Sendable {
        public let value: Double
        /// Every number in the file by dotted key path (booleans as 1 and 0), keys sorted.
        public let metrics: [(name: String, value: Double)]
    }

    /// A JSON document, decoded without losing the difference between numbers and booleans.
    enum Value: Decodable {
        case number(Double), bool(Bool), string(String), array([Value]), object([(key: String, value: Value)]), null

        init(from decoder: Decoder) throws {
            if let container = try? decoder.container(keyedBy: AnyKey.self) {
                // JSONDecoder gives keys in no fixed order: sort them, so records are reproducible.
                self = .object(try container.allKeys.sorted { $0.stringValue < $1.stringValue }
                    .map { ($0.stringValue, try container.decode(Value.self, forKey: $0)) })
                return
            }
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let bool = try? container.decode(Bool.self) { self = .bool(bool) }
            else if let number = try? container.decode(Double.self) { self = .number(number) }
            else if let string = try? container.decode(String.self) { self = .string(string) }
            else { self = .array(try container.decode([Value].self)) }
        }

        func child(_ key: Substring) -> Value? {
            guard case .object(let members) = self else { return nil }
            return members.last { $0.key == key }?.value
        }

        /// The value at a dotted key path.
        func lookup(_ path: String) -> Value? {
            path.split(separator: ".").reduce(Optional(self)) { node, key in node?.child(key) }
        }

        /// Every number and boolean under this value, by dotted path.
        func leaves(prefix: String = "", into result: inout [(name: String, value: Double)]) {
            switch self {
            case .number(let number) where number.isFinite: result.append((prefix, number))
            case .bool(let flag): result.append((prefix, flag ? 1 : 0))
            case .object(let members):
                for member in members where !member.key.isEmpty && !member.key.contains(where: { $0.isWhitespace || $0 == "=" || $0 == "\"" }) {
                    member.value.leaves(prefix: prefix.isEmpty ? member.key : prefix + "." + member.key, into: &result)
                }
            default: break
            }
        }
    }

    /// True when a number outside strings starts with `0x`: JSON5, which the decoder reads for
    /// NaN and Infinity, also reads hexadecimal, which a metric does not mean.
    private static func holdsHexadecimalNumber(_ data: Data) -> Bool {
        var inString = false, escaped = false, previous: UInt8 = 0
        for byte in data {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte | 0x20 == UInt8(ascii: "x"), previous == UInt8(ascii: "0") {
                return true
            }
            previous = byte
        }
        return false
    }

    struct AnyKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// Reads the file at `path` (shown as `name` in messages) and checks it against the contract.
    public static func read(path: String, name: String, keyPath: String, required: [String],
                            sizeLimit: Int = 16 << 20) -> Result<Contents, Failure> {
        func failure(_ reason: String, _ status: RunStatus = .noMetric) -> Result<Contents, Failure> {
            .failure(Failure(status: status, reason: reason))
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return failure("metric file \(name) was not written")
        }
        if let size = attributes[.size] as? Int, size > sizeLimit {
            return failure("metric file \(name) is larger than \(sizeLimit) bytes")
        }
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true  // so NaN and Infinity are read, and refused by name below
        guard let data = FileManager.default.contents(atPath: path),
              let document = try? decoder.decode(Value.self, from: data), case .object = document else {
            return failure("metric file \(name) is not a JSON object")
        }
        if holdsHexadecimalNumber(data) { return failure("metric file \(name) holds a hexadecimal number (0x...): write numbers as decimals") }
        if let ok = document.lookup("ok") {
            guard case .bool(true) = ok else { return failure("the evaluator reported failure: ok is not true in \(name)", .crash) }
        }
        for key in required + [keyPath] {
            switch document.lookup(key) {
            case nil, .null?: return failure("\(name) has no key '\(key)'")
            case .number(let number)? where !number.isFinite: return failure("'\(key)' in \(name) is not finite (\(number))")
            default: continue
            }
        }
        guard case .number(let value)? = document.lookup(keyPath) else {
            // A string stays one, even "0.5": the contract asks for a JSON number.
            let shown = if case .string(let text)? = document.lookup(keyPath) { " (the string '\(text.prefix(40))')" } else { "" }
            return failure("'\(keyPath)' in \(name) is not a number\(shown)")
        }
        var metrics: [(name: String, value: Double)] = []
        document.leaves(into: &metrics)
        return .success(Contents(value: value, metrics: Array(metrics.prefix(MetricLines.maxNames))))
    }
}
