@testable import Autoresearch
import Foundation
import Fixtures
import Testing

/// What a collaborator can push, at random: record lines in notes, and references of every
/// object type where the tool expects commits. Never a crash; the counts are printed
/// (docs/security.md quotes them).
@Suite(.ownThreads) struct IncomingFuzzTests {
    /// A record line with up to four random changes: a value replaced (quoted or not), a field
    /// dropped or repeated, random text inserted.
    static func mutatedRecordLine(_ generator: inout SeededGenerator) -> String {
        let start = Date(timeIntervalSince1970: Double.random(in: 0...5_000_000_000, using: &generator))
        var record = RunRecord(experiment: "s", run: RunID.make(at: start), status: RunStatus.allCases.randomElement(using: &generator)!,
                               metric: "score", value: Double.random(in: -10...10, using: &generator), bestBefore: nil,
                               direction: .lower, duration: 1, start: start, exitCode: 0, reason: nil, description: "d", host: "h")
        record.samples = [1, 2]
        var fields = Logfmt.parse(record.line).map { "\($0.key)=\(Logfmt.quote($0.value))" }
        for _ in 0..<Int.random(in: 0...4, using: &generator) {
            let index = Int.random(in: 0..<fields.count, using: &generator)
            let text = FuzzTests.randomText(&generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: fields[index] = fields[index].prefix { $0 != "=" } + "=" + (Bool.random(using: &generator) ? Logfmt.quote(text) : text)
            case 1: fields.remove(at: index); if fields.isEmpty { fields = ["v=1"] }
            case 2: fields.append(fields[index])
            default: fields.insert(text, at: index)
            }
        }
        return fields.joined(separator: " ")
    }

    /// Found by the fuzzer: a combining mark after a space or a quote made one character of
    /// them, so the separator was not seen when writing and the line read back differently.
    @Test func aCombiningMarkDoesNotHideASeparatorOrAQuote() {
        for value in ["a \u{065E}b", "\"\u{301}", "x=\u{301}y", "\u{301}"] {
            #expect(Logfmt.parse("k=\(Logfmt.quote(value)) \u{065E}z=1").map(\.value) == [value, "1"], "\(value.debugDescription)")
        }
    }

    @Test func randomRecordLinesAreReadOrSkippedNeverACrash() {
        var generator = SeededGenerator(state: FuzzTests.seed)
        let started = Date()
        var (notes, lines, records, suspect, roundTrips) = (0, 0, 0, 0, 0)
        while notes < 20_000, notes < FuzzTests.minimumCases || Date().timeIntervalSince(started) < FuzzTests.timeLimit {
            let note = (0..<Int.random(in: 1...4, using: &generator)).map { _ in Self.mutatedRecordLine(&generator) }
            let parsed = RunRecord.parseAll(note.joined(separator: "\n"))
            let reasons = RecordTrust.suspicions(parsed)
            #expect(reasons.count == parsed.count)
            for record in parsed {
                let again = RunRecord(line: record.line)
                #expect(again == record, "\(record.line.debugDescription) read back as \(again?.line.debugDescription ?? "nothing")")
                if again == record { roundTrips += 1 }
            }
            (notes, lines, records, suspect) = (notes + 1, lines + note.count, records + parsed.count, suspect + reasons.compactMap { $0 }.count)
        }
        print("fuzz: record lines: \(lines) lines in \(notes) notes, \(records) read as records (\(roundTrips) written back unchanged), \(suspect) suspect, \(lines - records) skipped")
    }

    @Test func referencesOfEveryTypeArePulledOrSkippedNeverACrash() throws {
        let (remote, ours, attacker) = try TrustTests.sharedExperiment()
        defer { withExtendedLifetime(remote) {} }
        try attacker.git(["tag", "-a", "-m", "a tag", "annotated"])
        // An array, not a dictionary: its order, and so the seeded choices, are the same in every process.
        let objects = [("blob", "HEAD:value.txt"), ("tree", "HEAD^{tree}"), ("tag", "annotated"), ("commit", "HEAD")]
        let refs = ["refs/autoresearch/s/attempts", "refs/autoresearch/other/attempts", "refs/notes/autoresearch", "refs/notes/autoresearch-logs"]
        var generator = SeededGenerator(state: FuzzTests.seed)
        var (pulls, refused) = (0, 0)
        for _ in 0..<6 {
            let (kind, revision) = objects.randomElement(using: &generator)!, ref = refs.randomElement(using: &generator)!
            try attacker.git(["push", "-q", "-f", "origin", "\(try attacker.gitLine("rev-parse", revision)):\(ref)"])
            let pull = try Tool.run(["pull"], in: ours)
            #expect(pull.status == 0, "\(kind) at \(ref): \(pull.stderr)")
            refused += pull.stderr.components(separatedBy: "which is not a commit").count - 1
            pulls += 1
            let mistyped = try ours.git(["for-each-ref", "--format=%(objecttype) %(refname)", "refs/autoresearch", "refs/autoresearch-remotes", "refs/notes"])
                .split(separator: "\n").filter { !$0.hasPrefix("commit ") }
            #expect(mistyped.isEmpty, "\(mistyped)")
        }
        print("fuzz: remote references: \(pulls) pulls, \(refused) references not commits skipped with a warning")
    }
}
