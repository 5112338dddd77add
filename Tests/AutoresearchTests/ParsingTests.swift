import Autoresearch
import Foundation
import Testing

@Suite struct DurationTests {
    @Test(arguments: [("90s", 90.0), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("250ms", 0.25), ("2.5", 2.5), (" 10S ", 10)])
    func parses(text: String, seconds: Double) throws {
        #expect(try Durations.parse(text) == seconds)
    }

    @Test(arguments: ["", "abc", "5x", "-3s", "0", "m", "1h-5m"])
    func rejectsWithAHint(text: String) {
        #expect {
            _ = try Durations.parse(text)
        } throws: { error in
            (error as? AutoresearchError)?.hint?.contains("90s") == true
        }
    }

    @Test func formatsForPeople() {
        #expect(Durations.format(0.25) == "250ms")
        #expect(Durations.format(10) == "10s")
        #expect(Durations.format(12.34) == "12.3s")
        #expect(Durations.format(245) == "4m05s")
        #expect(Durations.format(7800) == "2h10m")
    }
}

@Suite struct MetricScannerTests {
    func scan(_ name: String, _ lines: [String]) -> MetricScanner {
        var scanner = MetricScanner(name: name)
        for line in lines { scanner.scan(line[...]) }
        return scanner
    }

    @Test func readsTheFormsUsersPrint() {
        #expect(scan("val_bpb", ["val_bpb:          0.997900"]).value == 0.9979)
        #expect(scan("metric", ["metric: 1.23"]).value == 1.23)
        #expect(scan("loss", ["METRIC loss=0.5"]).value == 0.5)
        #expect(scan("acc", ["step 10 loss=0.5 acc=0.91, lr=3e-4"]).value == 0.91)
        #expect(scan("lr", ["step 10 loss=0.5 acc=0.91, lr=3e-4"]).value == 3e-4)
        #expect(scan("score", ["{\"score\": 7}"]).value == nil)  // quoted JSON keys are not metric lines
    }

    @Test func theLastOccurrenceWinsAndNamesMustStandAlone() {
        #expect(scan("loss", ["loss: 3", "val_loss: 1", "loss: 2", "train-loss: 0"]).value == 2)
        #expect(scan("loss", ["val_loss: 1"]).value == nil)
        #expect(scan("loss", ["loss is 3"]).value == nil)
    }

    @Test func nonFiniteValuesAreReportedNotUsed() {
        let nan = scan("loss", ["loss: 1.5", "loss: nan"])
        #expect(nan.value == nil)
        #expect(nan.invalidValue == "nan")
        #expect(scan("loss", ["loss=inf"]).invalidValue == "inf")
        #expect(scan("loss", ["loss: NaN", "loss: 0.25"]).value == 0.25)
    }
}

@Suite struct JSONMetricTests {
    func file(_ content: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID()).json").path
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func readsANestedNumber() throws {
        let path = try file(#"{"ok": true, "score": 0.93, "counts": {"samples": 64}}"#)
        #expect(try JSONMetric.read(path: path, keyPath: "counts.samples").get() == 64)
        #expect(try JSONMetric.read(path: path, keyPath: "score").get() == 0.93)
    }

    @Test(arguments: [
        (#"{"score": 1}"#, "missing", "has no key 'missing'"),
        (#"{"score": true}"#, "score", "is not a number"),
        (#"{"score": "0.5"}"#, "score", "is not a number"),
        (#"{"score": NaN}"#, "score", "not finite"),
        (#"{"score": Infinity}"#, "score", "not finite"),
        ("not json at all", "score", "not valid JSON"),
    ])
    func failuresNameTheProblem(content: String, key: String, expected: String) throws {
        let path = try file(content)
        let result = JSONMetric.read(path: path, keyPath: key)
        guard case .failure(let error) = result else {
            Issue.record("expected a failure for \(content)")
            return
        }
        #expect(error.message.contains(expected), "\(error.message)")
    }

    @Test func aMissingFileIsAFailure() {
        guard case .failure(let error) = JSONMetric.read(path: "/nonexistent/metrics.json", keyPath: "score") else {
            Issue.record("a missing file must fail")
            return
        }
        #expect(error.message.contains("was not written"))
    }
}

@Suite struct RunRecordTests {
    func sample() -> RunRecord {
        RunRecord(experiment: "lr", run: "20261123-090102-3fa9c1", status: .discard, metric: "val_bpb", value: 0.9979,
                  bestBefore: 0.99, direction: .lower, duration: 301.5, start: Date(timeIntervalSince1970: 1_795_000_000.25),
                  exitCode: 0, reason: nil, description: "try \"wider\" MLP\nand = signs\\", host: "gpu-1")
    }

    @Test func roundTripsThroughLogfmtWithQuoting() throws {
        let record = sample()
        let line = record.line
        #expect(!line.contains("\n"))
        #expect(line.hasPrefix("v=1 experiment=lr run=20261123-090102-3fa9c1 status=discard metric=val_bpb value=0.9979 best_before=0.99"))
        let parsed = try #require(RunRecord(line: line))
        #expect(parsed == record)
        #expect(parsed.description == "try \"wider\" MLP\nand = signs\\")
        #expect(parsed.delta! == 0.9979 - 0.99)
    }

    @Test func keepsUnknownFieldsAndSkipsForeignLines() throws {
        let line = sample().line + " gpu=a100 note=\"from the future\""
        let parsed = try #require(RunRecord(line: line))
        #expect(parsed.extra.map(\.key) == ["gpu", "note"])
        #expect(parsed.line == line)
        #expect(RunRecord.parseAll("free text by a human\n\(line)\nv=99 experiment=x\n").count == 1)
    }
}

@Suite struct ExperimentValidationTests {
    @Test(arguments: ["", "-x", "a b", "a..b", "x.lock", "a/b", "ü"])
    func rejectsNamesGitCannotUse(name: String) {
        #expect(throws: AutoresearchError.self) { try Experiment.validate(name: name) }
    }

    @Test func rejectsBadFieldsWithHints() {
        var experiment = Experiment(name: "ok", evaluate: "true", metric: "loss")
        #expect(throws: Never.self) { try experiment.validate() }
        experiment.metric = "two words"
        #expect(throws: AutoresearchError.self) { try experiment.validate() }
        experiment = Experiment(name: "ok", evaluate: "  ", metric: "loss")
        #expect(throws: AutoresearchError.self) { try experiment.validate() }
        experiment = Experiment(name: "ok", evaluate: "true", metric: "loss", budget: 60, timeout: 30)
        #expect(throws: AutoresearchError.self) { try experiment.validate() }
        #expect(Experiment(name: "ok", evaluate: "true", metric: "loss", budget: 60).timeout == 150)
    }
}
