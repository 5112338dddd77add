import Autoresearch
import Fixtures
import Foundation
import Testing

/// Issue 15: paths from configuration and records stay inside their root, numbers have bounds
/// and one grammar. Each attack is first run as observed, then checked refused before any write.
@Suite(.ownThreads) struct ArtifactEscapeTests {
    /// A repository with one run whose artifacts (out/metrics.json) are stored, and that run's id.
    static func repositoryWithArtifacts() throws -> (repo: TempRepository, run: String) {
        let repo = try experimentRepositoryThroughCLI(["eval.sh": "mkdir -p out; echo '{\"score\": 1}' > out/metrics.json\n", ".gitignore": "out/\n"],
                                            ["--eval", "sh eval.sh", "--metric", "score", "--metric-file", "out/metrics.json",
                                             "--artifact", "out/metrics.json"])
        let output = try Tool.run(["run"], in: repo)
        #expect(output.status == 0, "\(output.stderr)")
        let run = try #require(TempRepository.field("run", try repo.record(of: output)))
        return (repo, run)
    }

    /// Points the run's record at `tree`, as a record pulled from someone with push access would.
    static func forgeArtifacts(of run: String, to tree: String, in repo: TempRepository) throws {
        let commit = try repo.gitLine("notes", "--ref", "autoresearch", "list").split(separator: "\n")
            .compactMap { $0.split(separator: " ").last.map(String.init) }
            .first { (try? repo.git(["notes", "--ref", "autoresearch", "show", $0]).contains("run=\(run) ")) == true }
        let target = try #require(commit)
        let note = try repo.git(["notes", "--ref", "autoresearch", "show", target])
        let forged = note.split(separator: "\n").map { line in
            guard line.contains("run=\(run) "), let old = TempRepository.field("artifacts", String(line)) else { return String(line) }
            return line.replacingOccurrences(of: "artifacts=" + old, with: "artifacts=" + tree)
        }.joined(separator: "\n") + "\n"
        try repo.write(".git/forged-note", forged)
        _ = try repo.git(["notes", "--ref", "autoresearch", "add", "-f", "-F", repo.path + "/.git/forged-note", target])
    }

    /// A tree written from raw entries, as `git mktree` would refuse to: (mode, name, object id).
    static func literalTree(_ entries: [(mode: String, name: String, id: String)], in repo: TempRepository) throws -> String {
        var bytes: [UInt8] = []
        for entry in entries {
            bytes += Array("\(entry.mode) \(entry.name)".utf8) + [0]
            bytes += stride(from: 0, to: entry.id.count, by: 2).map { offset in
                let start = entry.id.index(entry.id.startIndex, offsetBy: offset)
                return UInt8(entry.id[start..<entry.id.index(start, offsetBy: 2)], radix: 16)!
            }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: repo.path + "/.git/raw-tree"))
        return try repo.gitLine("hash-object", "-t", "tree", "--literally", "-w", repo.path + "/.git/raw-tree")
    }

    static func blob(_ content: String, in repo: TempRepository) throws -> String {
        try repo.write(".git/blob-content", content)
        return try repo.gitLine("hash-object", "-w", repo.path + "/.git/blob-content")
    }

    @Test func dotDotEntriesAreRefusedBeforeAnythingIsWritten() throws {
        let (repo, run) = try Self.repositoryWithArtifacts()
        let payload = try Self.literalTree([("100644", "pwned.txt", try Self.blob("owned\n", in: repo))], in: repo)
        var tree = payload
        for _ in 1...3 { tree = try Self.literalTree([("40000", "..", tree)], in: repo) }
        try Self.forgeArtifacts(of: run, to: tree, in: repo)
        let base = repo.path + "/.git/D"
        let output = try Tool.run(["artifacts", run, "--out", base + "/out/a/b"], in: repo)
        #expect(output.status == 1, "\(output.stdout)\(output.stderr)")
        #expect(output.stderr.contains("run \(run)") && output.stderr.contains("unsafe entry '..'"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: base + "/pwned.txt"))
        #expect(!FileManager.default.fileExists(atPath: base + "/out"), "nothing is created before the check")
        #expect(try Tool.run(["show", run, "--no-patch"], in: repo).stderr.contains("unsafe entry"))
    }

    @Test func anEntryNamedWithSlashesIsRefused() throws {
        let (repo, run) = try Self.repositoryWithArtifacts()
        let tree = try Self.literalTree([("100644", "../../pwned-slash.txt", try Self.blob("owned\n", in: repo))], in: repo)
        try Self.forgeArtifacts(of: run, to: tree, in: repo)
        let base = repo.path + "/.git/D"
        let output = try Tool.run(["artifacts", run, "--out", base + "/out/a/b"], in: repo)
        #expect(output.status == 1 && output.stderr.contains("'../../pwned-slash.txt' holds a '/'"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: base + "/out/pwned-slash.txt"))
        #expect(!FileManager.default.fileExists(atPath: base + "/pwned-slash.txt"))
    }

    @Test func aSymbolicLinkEntryIsRefused() throws {
        let (repo, run) = try Self.repositoryWithArtifacts()
        let tree = try Self.literalTree([("120000", "escape", try Self.blob("../../../../etc", in: repo))], in: repo)
        try Self.forgeArtifacts(of: run, to: tree, in: repo)
        let output = try Tool.run(["artifacts", run, "--out", repo.path + "/.git/D"], in: repo)
        #expect(output.status == 1 && output.stderr.contains("this is a symbolic link"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: repo.path + "/.git/D/escape"))
    }

    @Test func aSymbolicLinkAlreadyInTheOutputDirectoryIsNotFollowed() throws {
        let (repo, run) = try Self.repositoryWithArtifacts()
        let outside = repo.path + "/.git/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repo.path + "/.git/D", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: repo.path + "/.git/D/out", withDestinationPath: outside)
        let output = try Tool.run(["artifacts", run, "--out", repo.path + "/.git/D"], in: repo)
        #expect(output.status == 1 && output.stderr.contains("is not a directory (a symbolic link is not followed)"), "\(output.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        // The same run restores into an empty directory.
        #expect(try Tool.run(["artifacts", run, "--out", repo.path + "/.git/E"], in: repo).status == 0)
        #expect(FileManager.default.fileExists(atPath: repo.path + "/.git/E/out/metrics.json"))
    }
}

@Suite(.ownThreads) struct ConfiguredPathTests {
    static let evaluator = "echo '{\"score\": 1}' > metrics.json\n"

    @Test(arguments: [["--metric-file", "../precious.json"], ["--metric-file", "/tmp/x.json"], ["--targets-file", "a/../../t"],
                      ["--program", "../program.md"], ["--artifact", "../*"], ["--guard", "../eval.sh"],
                      ["--metric-file", ".git/index"], ["--metric-file", "./.GIT/config"]])
    func initRefusesAPathOutOfTheWorkTreeAndWritesNothing(flags: [String]) throws {
        let repo = try TempRepository()
        try repo.commitFiles(["eval.sh": Self.evaluator], message: "project")
        let output = try Tool.run(["init", "--name", "s", "--eval", "sh eval.sh", "--metric", "score"] + flags, in: repo)
        #expect(output.status == 1, "\(output.stderr)")
        #expect(output.stderr.contains("invalid path '\(flags[1])' for \(flags[0])"), "\(output.stderr)")
        #expect(!repo.exists(".autoresearch"))
    }

    @Test func aCommittedMetricFileOutOfTheWorkTreeIsAnErrorAndInitRepairsIt() throws {
        let repo = try experimentRepositoryThroughCLI(["eval.sh": Self.evaluator], ["--eval", "sh eval.sh", "--metric", "score", "--metric-file", "metrics.json"])
        let precious = repo.path + "/../precious-\(UUID().uuidString).json"
        try "keep me\n".write(toFile: precious, atomically: true, encoding: .utf8)
        defer { unlink(precious) }
        let relative = "../" + (precious as NSString).lastPathComponent
        _ = try repo.git(["config", "-f", ".autoresearch", "experiment.s.metricFile", relative])
        _ = try repo.git(["commit", "-qam", "point the metric file outside"])
        for command in [["run"], ["status"], ["log"]] {
            let output = try Tool.run(command, in: repo)
            #expect(output.status == 1, "\(command): \(output.stderr)")
            #expect(output.stderr.contains("invalid path '\(relative)' for metricFile in .autoresearch, experiment 's'"), "\(output.stderr)")
            #expect(output.stderr.contains("git autoresearch init --name s --metric-file VALUE"), "\(output.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: precious))
        let repaired = try Tool.run(["init", "--name", "s", "--metric-file", "metrics.json"], in: repo)
        #expect(repaired.status == 0, "\(repaired.stderr)")
        #expect(try Tool.run(["run"], in: repo).status == 0)
    }

    @Test func aMetricFileThatIsALinkOutOfTheWorkTreeIsNotRemoved() throws {
        let repo = try experimentRepositoryThroughCLI(["eval.sh": "true\n"], ["--eval", "sh eval.sh", "--metric", "score", "--metric-file", "metrics.json"])
        let precious = repo.path + "/../precious-\(UUID().uuidString).json"
        try "{\"score\": 1}\n".write(toFile: precious, atomically: true, encoding: .utf8)
        defer { unlink(precious) }
        try FileManager.default.createSymbolicLink(atPath: repo.path + "/metrics.json", withDestinationPath: precious)
        _ = try repo.git(["add", "metrics.json"])
        _ = try repo.git(["commit", "-qm", "a link out"])
        let output = try Tool.run(["run"], in: repo)
        #expect(output.status != 0)
        #expect(try repo.record(of: output).contains("it was not removed"), "\(output.stdout)\(output.stderr)")
        #expect(try repo.record(of: output).contains("leads out of the work tree through a symbolic link"), "\(output.stderr)")
        #expect(FileManager.default.fileExists(atPath: precious))
    }
}

@Suite(.ownThreads) struct ConfiguredNumberTests {
    static func plainRepository() throws -> TempRepository {
        try experimentRepositoryThroughCLI(["eval.sh": "echo 'score: 1'\n"], ["--eval", "sh eval.sh", "--metric", "score"])
    }

    @Test(arguments: [["--budget", "1e19"], ["--budget", "1e15"], ["--budget", "721h"], ["--budget", "0x10"], ["--timeout", "1e400"],
                      ["--grace", "nan"], ["--artifact-limit", "-1"], ["--artifact-limit", "1099511627777"], ["--repeats", "1001"],
                      ["--noise-widths", "0x10"], ["--recheck-every", "-1"], ["--min-delta", "1_000"]])
    func initRefusesAnOutOfBoundsNumberAndLeavesTheFileAsItWas(flags: [String]) throws {
        let repo = try Self.plainRepository()
        let before = repo.read(".autoresearch")
        let output = try Tool.run(["init", "--name", "s", "\(flags[0])=\(flags[1])"], in: repo)
        #expect(output.status == 1, "\(flags): \(output.stderr)")
        #expect(output.stderr.contains("'\(flags[1])' for \(flags[0])"), "\(output.stderr)")
        #expect(repo.read(".autoresearch") == before)
        #expect(try repo.git(["status", "--porcelain"]).isEmpty)
    }

    @Test(arguments: [("budget", "1e19", "--budget", "5s"), ("budget", "1e15", "--budget", "5s"),
                      ("artifactLimit", "-1", "--artifact-limit", "100")])
    func aCommittedOutOfBoundsNumberIsAnErrorThatInitRepairs(key: String, text: String, flag: String, repair: String) throws {
        let repo = try Self.plainRepository()
        _ = try repo.git(["config", "-f", ".autoresearch", "experiment.s.\(key)", text])
        _ = try repo.git(["commit", "-qam", "an out-of-bounds \(key)"])
        for command in [["status"], ["log"], ["run"], ["init", "--name", "s", "--title", "x"]] {
            let output = try Tool.run(command, in: repo)
            #expect(output.status == 1, "\(command) ended with \(output.status): \(output.stderr)")
            #expect(output.stderr.contains("'\(text)' for \(key) in .autoresearch, experiment 's'"), "\(output.stderr)")
            #expect(output.stderr.contains("repair it with: git autoresearch init --name s \(flag) VALUE"), "\(output.stderr)")
        }
        let repaired = try Tool.run(["init", "--name", "s", flag, repair], in: repo)
        #expect(repaired.status == 0, "\(repaired.stderr)")
        #expect(try repo.gitLine("config", "-f", ".autoresearch", "experiment.s.\(key)") == repair)
        #expect(try Tool.run(["status"], in: repo).status == 0)
    }

    @Test func durationsDisplayWithoutOverflow() {
        #expect(Durations.format(1e15) == "2.77778e+11h")
        #expect(Durations.format(30 * 86_400) == "720h00m")
        #expect(Durations.format(.infinity) == "infs")
        #expect(Durations.format(-.infinity) == "-infs")
        #expect(Durations.format(.nan) == "nans")
        #expect(Durations.format(-90) == "-1m30s")
        #expect(Durations.format(Double.greatestFiniteMagnitude).hasSuffix("h"))
    }
}

@Suite(.ownThreads) struct MetricNumberTests {
    @Test(arguments: [("1e3", 1000.0), ("-2.5E-2", -0.025), ("4.", 4), (".5", 0.5), ("+7", 7), ("0.997900", 0.9979)])
    func decimalsAreRead(text: String, value: Double) {
        #expect(DecimalNumber.read(text) == .finite(value))
        var scanner = MetricScanner(name: "val_bpb")
        scanner.scan("val_bpb:          \(text)"[...])
        #expect(scanner.value == value)
        var lines = MetricLines()
        lines.scan("METRIC val_bpb=\(text)"[...])
        #expect(lines.values["val_bpb"] == value)
    }

    @Test(arguments: ["4,5", "0x10", "1_000", "4.5.6", "4.5abc", "1e", "e5", "--1", "", ".", "0x1p3", "١٢"])
    func anythingElseIsNotANumberAndIsNamedInTheReason(text: String) {
        #expect(DecimalNumber.read(text) == .malformed)
        var scanner = MetricScanner(name: "metric")
        scanner.scan("metric: 1.5"[...])
        scanner.scan("metric: \(text)"[...])
        #expect(scanner.value == nil, "\(text)")
        #expect(scanner.invalidValue == (text.isEmpty ? "(nothing)" : text))
        var lines = MetricLines()
        lines.scan("metric=\(text)"[...])
        #expect(lines.values["metric"] == nil)
    }

    @Test(arguments: ["nan", "inf", "-inf", "Infinity", "NaN", "1e400"])
    func nonFiniteNumbersAreRecognised(text: String) {
        #expect(DecimalNumber.read(text) == .notFinite)
    }

    @Test func aCommaFollowedByANameStillSeparatesValues() {
        var scanner = MetricScanner(name: "loss")
        scanner.scan("step 3 loss=0.5,acc=0.9; lr=1e-3"[...])
        #expect(scanner.value == 0.5)
    }

    @Test(arguments: [("4,5", "score is not a finite number: 4,5"), ("0x10", "score is not a finite number: 0x10"),
                      ("nan", "score is not a finite number: nan")])
    func aRunPrintingAnUnreadableValueIsNoMetric(printed: String, reason: String) throws {
        let repo = try experimentRepositoryThroughCLI(["eval.sh": "echo 'score: \(printed)'\n"], ["--eval", "sh eval.sh", "--metric", "score"])
        let output = try Tool.run(["run"], in: repo)
        let record = try repo.record(of: output)
        #expect(TempRepository.field("status", record) == "no-metric", "\(record)")
        #expect(record.contains(reason), "\(record)")
    }

    @Test func aHexadecimalNumberInTheMetricFileIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hex-\(UUID().uuidString).json").path
        try #"{"score": 0x10, "note": "0x10 in a string is text"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        guard case .failure(let failure) = MetricsFile.read(path: path, name: "m.json", keyPath: "score", required: []) else {
            Issue.record("0x10 was read as a number")
            return
        }
        #expect(failure.reason.contains("hexadecimal"))
    }
}
