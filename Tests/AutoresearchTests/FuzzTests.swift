@testable import Autoresearch
import Foundation
import Git
import Testing

/// SplitMix64: a small deterministic generator, so a failing case replays from the seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Random and adversarial texts fed to the metric scanners and to `.autoresearch`: never a
/// crash, always a value or a clear error. Seeded, bounded in cases and in time; the counts are
/// printed (docs/security.md quotes them).
@Suite(.ownThreads) struct FuzzTests {
    let scratch = ScratchExperimentFile()

    static let seed: UInt64 = 0x15_2026
    static let timeLimit = 20.0
    static let minimumCases = 1000

    /// What numbers, durations, paths and keys are made of, the troublesome pieces included.
    static let fragments = ["0", "1", "7", "9", ".", "-", "+", "e", "E", "x", "0x", "_", ",", ";", "}", " ", "\t", "nan", "inf",
                            "Infinity", "1e308", "1e400", "9223372036854775808", "-0", "%", "ms", "s", "m", "h", "/", "..", "\0",
                            "\n", "\"", "\\", "é", "١", "ff", "1_0", "=", ":", "<=", "1e19", "1e15", "-1", "../", "*"]

    static func randomText(_ generator: inout SeededGenerator) -> String {
        if Int.random(in: 0..<10, using: &generator) == 0 {
            let bytes = (0..<Int.random(in: 0...12, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            return String(decoding: bytes, as: UTF8.self)
        }
        return (0..<Int.random(in: 1...8, using: &generator)).map { _ in fragments.randomElement(using: &generator)! }.joined()
    }

    /// Runs `body` on random texts until `cases`, or the time limit once `minimumCases` ran (a
    /// loaded machine runs fewer, never too few); returns how many ran.
    static func fuzz(cases: Int, seed: UInt64, _ body: (String) throws -> Void) rethrows -> Int {
        var generator = SeededGenerator(state: seed)
        let start = Date()
        var count = 0
        while count < cases, count < minimumCases || Date().timeIntervalSince(start) < timeLimit {
            try body(randomText(&generator))
            count += 1
        }
        return count
    }

    @Test func theMetricScannersGiveAValueOrTheOffendingText() {
        var readings: [String: Int] = [:]
        let count = Self.fuzz(cases: 50_000, seed: Self.seed) { text in
            let reading = DecimalNumber.read(text)
            var scanner = MetricScanner(name: "score")
            scanner.scan("score: \(text)"[...])
            #expect((scanner.value == nil) != (scanner.invalidValue == nil), "\(text.debugDescription)")
            #expect(scanner.value?.isFinite ?? true)
            var lines = MetricLines()
            lines.scan("METRIC score=\(text)"[...])
            #expect(lines.values["score"]?.isFinite ?? true)
            switch reading {
            case .finite(let value):
                readings["finite", default: 0] += 1
                #expect(Double(text) == value, "the grammar reads \(text.debugDescription) as Swift does")
                if !text.contains(where: { $0.isWhitespace || ",;}".contains($0) }) { #expect(scanner.value == value) }
            case .notFinite: readings["not finite", default: 0] += 1
            case .malformed: readings["not a number", default: 0] += 1
            }
            if DecimalNumber.read(text.trimmingCharacters(in: .whitespaces)) == .malformed {
                #expect(lines.values["score"] == nil, "\(text.debugDescription)")
            }
        }
        print("fuzz: metric scanners: \(count) texts: \(readings.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))")
    }

    /// Each value goes through the settings table; one in ten also through a real `.autoresearch`
    /// (libgit2's parser, slower).
    @Test func everyCommittedValueIsReadOrRefusedAndWhatIsReadWritesBack() throws {
        let path = scratch.path
        let base = Experiment(name: "f", evaluate: "true", metric: "loss")
        try ExperimentFile(path: path).write(base)
        let file = try Data(contentsOf: URL(fileURLWithPath: path))
        var generator = SeededGenerator(state: Self.seed ^ 0xA5)
        var accepted = 0, refused = 0, throughTheFile = 0
        let count = try Self.fuzz(cases: 20_000, seed: Self.seed) { text in
            let setting = Setting.all.randomElement(using: &generator)!
            do {
                var experiment = base
                try setting.assign([text], to: &experiment, source: setting.key)
                try experiment.validate()
                accepted += 1
                #expect(try Self.rewritten(experiment) == experiment, "\(setting.key) = \(text.debugDescription)")
            } catch let error as AutoresearchError {
                refused += 1
                #expect(!error.message.isEmpty)
            }
            guard accepted + refused < 10 || (accepted + refused) % 10 == 0 else { return }
            try file.write(to: URL(fileURLWithPath: path))
            guard (try? ConfigFile(path: path).set("experiment.f.\(setting.key)", text)) != nil else { return }
            throughTheFile += 1
            do { _ = try ExperimentFile(path: path).experiment(named: "f") } catch is AutoresearchError {}
        }
        print("fuzz: .autoresearch values: \(count) cases, \(accepted) read, \(refused) refused with an error; \(throughTheFile) also through the file")
    }

    /// `experiment` written as the file's texts and read back, setting by setting, without the file.
    static func rewritten(_ experiment: Experiment) throws -> Experiment {
        var copy = Experiment(name: experiment.name, evaluate: experiment.evaluate, metric: experiment.metric)
        for setting in Setting.all {
            let texts = setting.texts(experiment)
            if !texts.isEmpty { try setting.assign(texts, to: &copy, source: setting.key) }
        }
        return copy
    }
}
