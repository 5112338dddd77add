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

/// Reads a metric from a JSON file written by the evaluator.
public enum JSONMetric {
    /// A JSON document, decoded without losing the difference between numbers and booleans.
    enum Value: Decodable {
        case number(Double), bool(Bool), string(String), array([Value]), object([String: Value]), null

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let bool = try? container.decode(Bool.self) { self = .bool(bool) }
            else if let number = try? container.decode(Double.self) { self = .number(number) }
            else if let string = try? container.decode(String.self) { self = .string(string) }
            else if let array = try? container.decode([Value].self) { self = .array(array) }
            else { self = .object(try container.decode([String: Value].self)) }
        }
    }

    /// The number at the dotted `keyPath` of the JSON file at `path`, or an error naming the problem.
    public static func read(path: String, keyPath: String, sizeLimit: Int = 16 << 20) -> Result<Double, AutoresearchError> {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return .failure(AutoresearchError("metric file \(path) was not written"))
        }
        if let size = attributes[.size] as? Int, size > sizeLimit {
            return .failure(AutoresearchError("metric file \(path) is larger than \(sizeLimit) bytes"))
        }
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        guard let data = FileManager.default.contents(atPath: path),
              var node = try? decoder.decode(Value.self, from: data) else {
            return .failure(AutoresearchError("metric file \(path) is not valid JSON"))
        }
        for key in keyPath.split(separator: ".") {
            guard case .object(let object) = node, let next = object[String(key)] else {
                return .failure(AutoresearchError("metric file \(path) has no key '\(keyPath)'"))
            }
            node = next
        }
        guard case .number(let number) = node else {
            return .failure(AutoresearchError("'\(keyPath)' in \(path) is not a number"))
        }
        guard number.isFinite else {
            return .failure(AutoresearchError("'\(keyPath)' in \(path) is not finite (\(number))"))
        }
        return .success(number)
    }
}
