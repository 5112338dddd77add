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

    public init(name: String) { self.name = name }

    /// Looks at one line of output.
    public mutating func scan(_ line: Substring) {
        guard line.contains(name) else { return }
        var searchStart = line.startIndex
        var lastValid: Double?
        var lastInvalid: String?
        var found = false
        while let range = line[searchStart...].range(of: name) {
            searchStart = range.upperBound
            if range.lowerBound > line.startIndex, Self.isNameCharacter(line[line.index(before: range.lowerBound)]) { continue }
            var index = range.upperBound
            while index < line.endIndex, line[index] == " " || line[index] == "\t" { index = line.index(after: index) }
            guard index < line.endIndex, line[index] == ":" || line[index] == "=" else { continue }
            index = line.index(after: index)
            while index < line.endIndex, line[index] == " " || line[index] == "\t" { index = line.index(after: index) }
            let token = line[index...].prefix { !$0.isWhitespace && $0 != "," && $0 != ";" && $0 != "}" }
            found = true
            if let number = Double(token), number.isFinite {
                lastValid = number
                lastInvalid = nil
            } else {
                lastValid = nil
                lastInvalid = token.isEmpty ? "(nothing)" : String(token.prefix(40))
            }
        }
        if found {
            value = lastValid
            invalidValue = lastInvalid
        }
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_" || character == "-" || character == "."
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

    /// Looks at one line of output.
    public mutating func scan(_ line: Substring) {
        var text = line.drop { $0 == " " || $0 == "\t" }
        if text.hasPrefix("METRIC ") { text = text.dropFirst("METRIC ".count).drop { $0 == " " } }
        let name = text.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" || $0 == "/" }
        guard let first = name.first, first.isLetter || first == "_" else { return }
        var rest = text[name.endIndex...].drop { $0 == " " || $0 == "\t" }
        guard rest.first == ":" || rest.first == "=" else { return }
        rest = rest.dropFirst()
        guard let value = Double(rest.trimmingCharacters(in: .whitespaces)), value.isFinite else { return }
        let key = String(name)
        if values[key] == nil {
            guard names.count < Self.maxNames else { return }
            names.append(key)
        }
        values[key] = value
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
            return failure("'\(keyPath)' in \(name) is not a number")
        }
        var metrics: [(name: String, value: Double)] = []
        document.leaves(into: &metrics)
        return .success(Contents(value: value, metrics: Array(metrics.prefix(MetricLines.maxNames))))
    }
}
