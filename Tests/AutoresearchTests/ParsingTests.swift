import Autoresearch
import Fixtures
import Foundation
import Testing

@Suite(.ownThreads) struct DurationTests {
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

@Suite(.ownThreads) struct MetricScannerTests {
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

@Suite(.ownThreads) struct MetricsFileTests {
    let scratch = ScratchDirectory(prefix: "metrics")

    func file(_ content: String) throws -> String {
        let path = scratch.path + "/metrics-\(UUID()).json"
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func read(_ content: String, key: String = "score", required: [String] = []) throws -> Result<MetricsFile.Contents, MetricsFile.Failure> {
        MetricsFile.read(path: try file(content), name: "metrics.json", keyPath: key, required: required)
    }

    @Test func readsTheMetricAndEveryNumberSortedByKey() throws {
        let contents = try read(#"{"score": 0.93, "ok": true, "counts": {"samples": 64}, "label": "x"}"#, required: ["counts.samples"]).get()
        #expect(contents.value == 0.93)
        #expect(contents.metrics.map(\.name) == ["counts.samples", "ok", "score"])
        #expect(contents.metrics.map(\.value) == [64, 1, 0.93])
        #expect(try read(#"{"counts": {"samples": 64}}"#, key: "counts.samples").get().value == 64)
    }

    @Test(arguments: [
        (#"{"ok": true}"#, [String](), "no-metric", "has no key 'score'"),
        (#"{"ok": true, "score": 1}"#, ["counts.samples"], "no-metric", "has no key 'counts.samples'"),
        (#"{"ok": true, "score": 1, "counts": null}"#, ["counts"], "no-metric", "has no key 'counts'"),
        (#"{"ok": false, "score": 1}"#, [], "crash", "ok is not true"),
        (#"{"ok": "yes", "score": 1}"#, [], "crash", "ok is not true"),
        (#"{"score": true}"#, [], "no-metric", "is not a number"),
        (#"{"score": "0.5"}"#, [], "no-metric", "is not a number"),
        (#"{"score": NaN}"#, [], "no-metric", "not finite"),
        (#"{"score": Infinity}"#, [], "no-metric", "not finite"),
        (#"{"ok": true, "score": 1, "loss": NaN}"#, ["loss"], "no-metric", "'loss' in metrics.json is not finite"),
        ("not json at all", [], "no-metric", "not a JSON object"),
        ("[1, 2]", [], "no-metric", "not a JSON object"),
    ])
    func failuresNameTheProblem(content: String, required: [String], status: String, expected: String) throws {
        guard case .failure(let failure) = try read(content, required: required) else {
            Issue.record("expected a failure for \(content)")
            return
        }
        #expect(failure.status.rawValue == status)
        #expect(failure.reason.contains(expected), "\(failure.reason)")
    }

    @Test func aMissingFileIsAFailure() {
        guard case .failure(let failure) = MetricsFile.read(path: "/nonexistent/metrics.json", name: "metrics.json", keyPath: "score", required: []) else {
            Issue.record("a missing file must fail")
            return
        }
        #expect(failure.reason.contains("was not written"))
    }
}

@Suite(.ownThreads) struct DecisionTests {
    @Test func medianAndNoiseWidth() {
        #expect(Statistics.median([3, 1, 2]) == 2)
        #expect(Statistics.median([4, 1, 2, 3]) == 2.5)
        #expect(Statistics.median([]) == nil)
        #expect(Statistics.noiseWidth([5]) == nil)
        // Deviations from the median 3: 2, 1, 0, 1, 97 -> MAD 1: one wild sample does not move it.
        #expect(abs(Statistics.noiseWidth([1, 2, 3, 4, 100])! - 1.4826) < 1e-9)
    }

    @Test func thresholdsAndConstraintsParse() {
        #expect(Threshold("0.01") == .absolute(0.01))
        #expect(Threshold("1%") == .relative(0.01))
        #expect(Threshold("-1") == nil && Threshold("abc") == nil && Threshold("nan") == nil)
        #expect(Threshold("5%")!.amount(from: -200) == 10)
        let constraint = Constraint("peak_vram_mb <= 40000")!
        #expect(constraint.description == "peak_vram_mb <= 40000")
        #expect(constraint.breach(in: ["peak_vram_mb": 40000]) == nil)
        #expect(constraint.breach(in: ["peak_vram_mb": 40001]) == "peak_vram_mb=40001 breaks peak_vram_mb <= 40000")
        #expect(constraint.breach(in: [:])!.contains("was not reported"))
        #expect(Constraint("pass_rate>=1.0")!.breach(in: ["pass_rate": 0.99]) != nil)
        #expect(Constraint("pass_rate") == nil && Constraint("<= 3") == nil && Constraint("a <= b") == nil)
    }

    @Test func theGateIsTheLargerOfMinDeltaAndTheNoise() {
        var experiment = Experiment(name: "e", evaluate: "true", metric: "loss", direction: .lower)
        var best = RunRecord(experiment: "e", run: "r", status: .keep, metric: "loss", value: 1.0, bestBefore: nil, direction: .lower,
                             duration: 0, start: Date(), exitCode: 0, reason: nil, description: "", host: "h")
        #expect(experiment.judge(0.999, against: best).keep)
        #expect(!experiment.judge(1.0, against: best).keep)
        experiment.minDelta = Threshold("1%")
        #expect(!experiment.judge(0.995, against: best).keep)
        #expect(experiment.judge(0.98, against: best).keep)
        best.noise = 0.02
        let verdict = experiment.judge(0.97, against: best)
        #expect(!verdict.keep)
        #expect(verdict.reason == "better by 0.03, not more than the gate 0.04 (min-delta 1%, 2 × noise 0.02)")
        #expect(experiment.judge(0.95, against: best).keep)
    }

    @Test func metricLinesTakeWholeLinesOnly() {
        var lines = MetricLines()
        for line in ["step 10 loss=0.5", "val_bpb:   0.99", "METRIC peak_vram_mb=38000", "epoch: 3 of 10", "pass_rate = 1.0", "acc: nan", "3d: 4", "/x: 1", "  _hidden = 2 ", "val_bpb: 0.98"] {
            lines.scan(line[...])
        }
        #expect(lines.ordered.map(\.name) == ["val_bpb", "peak_vram_mb", "pass_rate", "_hidden"])
        #expect(lines.values["val_bpb"] == 0.98)
    }
}

@Suite(.ownThreads) struct RunRecordTests {
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
        #expect(parsed.delta! == 0.0079, "the difference of the decimals, not of the binary values")
    }

    @Test func roundTripsTheMeasurements() throws {
        var record = sample()
        record.samples = [0.99, 0.9979, 1.01]
        record.noise = 0.004
        record.smokeValue = 1.2
        record.targets = ["gsm8k", "evalplus"]
        record.metrics = [("gsm8k/val_bpb", 0.98), ("gsm8k/peak_vram_mb", 38000), ("evalplus/val_bpb", 1.01)]
        record.breach = "peak_vram_mb=41000 breaks peak_vram_mb <= 40000"
        record.artifacts = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        let parsed = try #require(RunRecord(line: record.line))
        #expect(parsed == record)
        #expect(parsed.samples == [0.99, 0.9979, 1.01] && parsed.noise == 0.004 && parsed.smokeValue == 1.2)
        #expect(parsed.targets == ["gsm8k", "evalplus"])
        #expect(parsed.metrics.map(\.name) == ["gsm8k/val_bpb", "gsm8k/peak_vram_mb", "evalplus/val_bpb"])
        #expect(parsed.metricValues["gsm8k/peak_vram_mb"] == 38000)
        #expect(parsed.extra.isEmpty)
        #expect(!parsed.passed, "a run that broke a constraint did not pass")
    }

    @Test func keepsUnknownFieldsAndSkipsForeignLines() throws {
        let line = sample().line + " gpu=a100 note=\"from the future\""
        let parsed = try #require(RunRecord(line: line))
        #expect(parsed.extra.map(\.key) == ["gpu", "note"])
        #expect(parsed.line == line)
        #expect(RunRecord.parseAll("free text by a human\n\(line)\nv=99 experiment=x\n").count == 1)
    }
}

@Suite(.ownThreads) struct ExperimentValidationTests {
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

@Suite(.ownThreads) struct NumberDifferenceTests {
    /// A delta is what the decimals the user sees give, not the binary subtraction's noise.
    @Test(arguments: [(9.7, 10.0, -0.3), (0.3, 0.1, 0.2), (1.5e-05, 1e-05, 5e-06), (10.25, 10.0, 0.25), (7.0, 7.0, 0.0),
                      (1e20, 1.0, 1e20 - 1.0), (123456.789, 0.001, 123456.788)])
    func differenceOfDecimals(new: Double, old: Double, expected: Double) {
        #expect(Number.difference(new, old) == expected)
        #expect(Number.exact(Number.difference(new, old)) == Number.exact(expected))
    }

    @Test func nonFiniteValuesPassThrough() {
        #expect(Number.difference(.infinity, 1).isInfinite)
        #expect(Number.difference(.nan, 1).isNaN)
    }
}
