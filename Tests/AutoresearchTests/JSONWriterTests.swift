import Autoresearch
import Foundation
import Testing

/// `JSONWriter` writes what Foundation's `JSONSerialization` writes (`.sortedKeys`,
/// `.withoutEscapingSlashes`) for an object without its nil values, byte for byte: Foundation is the oracle, on hostile strings as
/// values and as keys, edge numbers, nesting, and records as `log --format json` gives them.
@Suite(.ownThreads) struct JSONWriterTests {
    /// Foundation's text of `object`, or nil when it refuses it.
    static func foundation(_ object: Any) -> String? {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The UTF-8 bytes of `text`: strings compare equal when canonically equivalent, bytes only when the same.
    static func bytes(_ text: String?) -> [UInt8]? { text.map { Array($0.utf8) } }

    static func expectSame(_ object: [String: Any?], writer: inout JSONWriter, sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = foundation(object.compactMapValues { $0 } as Any)
        let written = try? writer.object(object)
        #expect(bytes(written) == bytes(expected), sourceLocation: sourceLocation)
    }

    static let hostileStrings: [String] = {
        var strings = ["", "plain", "quote \" in", "\"", "back\\slash", "\\", "\\n is not a newline", "\\u0000", "\\\"", "/path/to</script>",
                       "tab\there", "line\nbreak", "cr\rlf\n", "\u{8}\u{C}", "\u{7F} delete", "é ü ß", "日本語の説明", "👩‍👩‍👧 family",
                       "e\u{301} combining", "\u{2028}\u{2029} separators", "\u{FEFF}bom", "\u{10FFFF}", "\u{FFFD} replacement",
                       "--format=json", "{\"nested\": [1, 2]}", String(repeating: "long value é\"\\\n", count: 20_000)]
        strings += (0..<0x20).map { "control \(String(UnicodeScalar(UInt8($0))))." }
        strings.append(String((0..<0x80).map { Character(UnicodeScalar(UInt8($0))) }))
        return strings
    }()

    @Test func hostileStringsAsValuesAndKeysAreWrittenAsFoundationWritesThem() throws {
        var writer = JSONWriter()
        for string in Self.hostileStrings {
            Self.expectSame(["value": string, string: 1, "list": [string, string]], writer: &writer)
            var fresh = JSONWriter()
            Self.expectSame([string: string], writer: &fresh)
        }
        #expect(Self.bytes(try writer.object(["k": "a\"b\\c\n\u{1}\u{1F}/é"])) == Self.bytes(#"{"k":"a\"b\\c\n\u0001\u001f/é"}"#))
    }

    @Test func numbersBoolsNullsAndNestingAreWrittenAsFoundationWritesThem() {
        var numbers: [Double] = [0, -0.0, 1, -1, 1.5, 0.1, 0.1 + 0.2, 1e15, 1e16, 1e17, 123456789012345678, 1e-4, 1e-5, 1e-7, 2.5e-300,
                                 .pi, -.pi, 1_000_000, 2_000_000, 0.9979, 1.0000000000000002, .leastNonzeroMagnitude,
                                 .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 4.0e21, 1e22, 1e23]
        var generator = SystemRandomNumberGenerator()
        numbers += (0..<2000).map { _ in Double(bitPattern: generator.next() & ~(0x7FF << 52) | (UInt64.random(in: 0x3A0...0x460) << 52)) }
        var writer = JSONWriter()
        for number in numbers { Self.expectSame(["n": number, "list": [number, -number]], writer: &writer) }
        for integer in [0, 1, -1, Int.max, Int.min, 42] { Self.expectSame(["i": integer, "i32": Int32(truncatingIfNeeded: integer)], writer: &writer) }
        Self.expectSame(["t": true, "f": false, "nested": ["a": [1, 2.5, "x"], "b": [String: Any]()] as [String: Any], "empty": [Any](),
                         "objects": [["path": "a/b", "size": 3], ["path": "c", "size": 0]]], writer: &writer)
        Self.expectSame(["null in a list": [1, nil, "x"] as [Any?], "null in an object": ["a": nil, "b": 1] as [String: Any?], "left out": nil],
                        writer: &writer)
    }

    @Test func whatFoundationRefusesIsRefused() {
        var writer = JSONWriter()
        for refused: [String: Any?] in [["n": Double.nan], ["n": Double.infinity], ["list": [1, -Double.infinity]], ["date": Date()]] {
            #expect(Self.foundation(refused as Any) == nil)
            #expect((try? writer.object(refused)) == nil)
        }
    }

    @Test func keysAreInFoundationsOrderWhateverTheyAre() {
        let pool = ["a10", "a9", "a09", "A1", "a1", "b", "B", "_x", "x_", "m.1", "m.10", "m.2", "é", "e", "E", "Z", "", "10", "9", "010", "ä",
                    "😀", "a b", "a-b", "a_b", "a.b", "version", "value", "best_before", "baseline", "older_evaluator", "artifacts",
                    "artifacts_skipped", "artifact_files", "ß", "ss", "Straße", "strasse", "ｆｕｌｌ", "ﬁ", "fi", "\u{1}", "\n", "日本",
                    "a\u{301}", "Ab", "aB", "ab"]
        var shared = JSONWriter()
        for _ in 0..<300 {
            let keys = pool.shuffled().prefix(Int.random(in: 1...pool.count))
            let object = Dictionary(uniqueKeysWithValues: keys.map { ($0, 1 as Any?) })
            Self.expectSame(object, writer: &shared)
            var fresh = JSONWriter()
            Self.expectSame(object, writer: &fresh)
        }
        // Equal as Swift strings (canonically equivalent), perhaps not in Foundation's order.
        for key in ["a\u{301}", "á", "a\u{301}b", "áb"] { Self.expectSame([key: 1, "a": 2, "ab": 3, "b": 4, "ä": 5], writer: &shared) }
    }

    /// A record's fields as `log --format json` wrote them through Foundation before `JSONWriter`:
    /// the dictionary `RunRecord.jsonFields` was, with the fields `log` adds.
    static func foundationFields(_ record: RunRecord, commit: String, suspect: String?, baseline: Bool) -> [String: Any?] {
        [
            "version": record.version, "experiment": record.experiment, "run": record.run, "status": record.status.rawValue, "metric": record.metric,
            "value": record.value, "samples": record.samples.isEmpty ? nil : record.samples, "noise": record.noise, "best_before": record.bestBefore,
            "direction": record.direction.rawValue, "duration": record.duration, "start": RunRecord.timestamp(record.start),
            "exit": record.exitCode.map { Int($0) }, "host": record.host, "worker": record.worker, "evaluator": record.evaluator, "stage": record.stage,
            "smoke": record.smokeValue, "targets": record.targets.isEmpty ? nil : record.targets,
            "metrics": record.metrics.isEmpty ? nil : record.metricValues, "breach": record.breach, "artifacts": record.artifacts,
            "artifacts_skipped": record.artifactsSkipped, "reason": record.reason, "description": record.description,
            "extra": record.extra.isEmpty ? nil : Dictionary(record.extra.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }),
            "commit": commit, "baseline": baseline, "delta": record.delta, "older_evaluator": false, "suspect": suspect,
        ]
    }

    /// Every field of records with hostile texts, keys and numbers, as `log` gives them.
    @Test func recordsAreWrittenAsFoundationWritesThem() {
        var writer = JSONWriter()
        for (index, text) in Self.hostileStrings.enumerated() {
            var record = fullRecord(artifacts: String(repeating: "a", count: 40))
            record.description = text
            record.reason = text
            record.host = text
            record.value = [0.1 + 0.2, 1e-7, 123456789, -0.0, 1e16][index % 5]
            record.samples = [0.1, 1e21, 3]
            record.metrics = [("m\(index)", 1e-5), (text.isEmpty ? "empty" : String(text.prefix(40)), 2), ("A/score", 3)]
            record.extra = [("future_\(index)", text), ("Future", "x"), ("future_\(index)", "last")]
            if index % 4 == 0 { (record.value, record.samples, record.metrics, record.worker) = (nil, [], [], nil) }
            let commit = String(repeating: "f", count: 40), suspect = index % 3 == 0 ? text : nil
            let added: [(String, JSONValue?)] = [("commit", .string(commit)), ("baseline", .bool(index % 2 == 0)), ("delta", record.delta.map(JSONValue.number)),
                                                 ("older_evaluator", .bool(false)), ("suspect", suspect.map(JSONValue.string))]
            let expected = Self.foundation(Self.foundationFields(record, commit: commit, suspect: suspect, baseline: index % 2 == 0).compactMapValues { $0 })
            #expect(Self.bytes(try? writer.object(record.jsonFields + JSONValue.present(added))) == Self.bytes(expected))
        }
    }

    /// Keys Swift takes for one (canonically equivalent) are written and ordered each as itself,
    /// by one writer, in dictionaries and in fields.
    @Test func canonicallyEquivalentKeysAreWrittenAsTheyAre() throws {
        var writer = JSONWriter()
        for key in ["K", "\u{212A}", "á", "a\u{301}", "Å", "\u{212B}", "A\u{30A}"] {
            let fields = [(key: key, value: JSONValue.integer(1)), (key: "a", value: .integer(2)), (key: "L", value: .integer(3))]
            #expect(Self.bytes(try writer.object(fields)) == Self.bytes(Self.foundation([key: 1, "a": 2, "L": 3])))
            Self.expectSame([key: 1, "Z": 2], writer: &writer)
        }
    }

    /// Objects built field by field: the same keys in other sequences, and sequences one key apart.
    @Test func fieldsInAnySequenceAreWrittenInFoundationsOrder() throws {
        var writer = JSONWriter()
        let keys = ["b", "a10", "a9", "B", "value", "version", "m.1", "_x", "é", "run"]
        for _ in 0..<100 {
            let chosen = keys.shuffled().prefix(Int.random(in: 1...keys.count))
            let fields = chosen.map { (key: $0, value: JSONValue.string($0)) }
            #expect(Self.bytes(try writer.object(fields)) == Self.bytes(Self.foundation(Dictionary(uniqueKeysWithValues: chosen.map { ($0, $0) }))))
        }
    }
}
