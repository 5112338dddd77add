import Autoresearch
import Foundation
import Testing
import Fixtures

/// A repository laid out as the autoresearch skill leaves it: a committed
/// `.autoresearch/engineering/api-speed/config.cfg`, an evaluator, and three commits of work.
/// Returns the repository and the short hashes of its commits, oldest first.
func skillRepository(config: String? = nil) throws -> (TempRepository, [String]) {
    let repo = try TempRepository()
    try repo.commitFiles([
        ".autoresearch/engineering/api-speed/config.cfg": config ?? """
        target: src/app.py
        evaluate_cmd: sh evaluate.sh
        metric: p50_ms
        metric_direction: lower
        metric_grep: ^p50_ms:
        time_budget_minutes: 0.05

        """,
        ".autoresearch/engineering/api-speed/results.tsv": "commit\tmetric\tstatus\tdescription\n",
        "evaluate.sh": "read v < value.txt; echo \"p50_ms: $v\"\n",
        "value.txt": "20\n",
    ], message: "skill setup")
    var commits = [try repo.gitLine("rev-parse", "--short", "HEAD")]
    for value in ["18", "19"] {
        try repo.write("value.txt", value + "\n")
        _ = try repo.commitFiles([:], message: "value \(value)")
        commits.append(try repo.gitLine("rev-parse", "--short", "HEAD"))
    }
    return (repo, commits)
}

/// Users of the peers moving in: `init` beside the skill's folder and from its `config.cfg`,
/// `import` of the skill's and Karpathy's `results.tsv` with every row and column, and the
/// export → import → export round trip.
@Suite(.ownThreads) struct PeersTests {
    @Test func initBesideTheSkillsFolderFromItsConfig() throws {
        let (repo, _) = try skillRepository()
        let output = try Tool.run(["init", "--from-skill", ".autoresearch/engineering/api-speed"], in: repo)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("Created experiment api-speed") && output.stdout.contains("committed .autoresearch.config as"))
        // git reads what the tool committed: the skill's folder is untouched, the settings are the skill's.
        let key = { (name: String) in try repo.gitLine("config", "--blob", "HEAD:.autoresearch.config", "experiment.api-speed.\(name)") }
        #expect(try key("evaluate") == "sh evaluate.sh" && key("metric") == "p50_ms" && key("direction") == "lower" && key("budget") == "3s")
        #expect(try repo.gitLine("rev-parse", "--abbrev-ref", "HEAD") == "autoresearch/api-speed")
        #expect(try repo.git(["status", "--porcelain"]).isEmpty)
        // A run measures the baseline with it; the guard covers the new file.
        let run = try Tool.run(["run", "-m", "baseline"], in: repo)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try repo.git(["notes", "--ref", "autoresearch", "show", "HEAD"]).contains("value=19 "))
        try repo.write(".autoresearch.config", (repo.read(".autoresearch.config") ?? "") + "\tbudget = 1s\n")
        try repo.write("value.txt", "1\n")
        let cheat = try Tool.run(["run", "-m", "cheat"], in: repo)
        #expect(cheat.stdout.contains("rejected") && cheat.stdout.contains("changed guarded paths: .autoresearch.config"), "\(cheat.stdout)\(cheat.stderr)")
        try repo.fsck()
    }

    @Test func flagsOverrideTheSkillsConfigAndANameCanBeGiven() throws {
        let (repo, _) = try skillRepository()
        let output = try Tool.run(["init", "--from-skill", ".autoresearch/engineering/api-speed/config.cfg", "--name", "speed", "--budget", "2s"], in: repo)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(try repo.gitLine("config", "--blob", "HEAD:.autoresearch.config", "experiment.speed.budget") == "2s")
        // A value the file lacks can be given as a flag.
        try repo.write(".git/skill.cfg", "evaluate_cmd: sh evaluate.sh\n")
        #expect(try Tool.run(["init", "--from-skill", ".git/skill.cfg", "--name", "flagged"], in: repo).stderr.contains("has no metric"))
        let flagged = try Tool.run(["init", "--from-skill", ".git/skill.cfg", "--name", "flagged", "--metric", "p50_ms"], in: repo)
        #expect(flagged.status == 0, "\(flagged.stderr)")
        _ = try repo.git(["switch", "-q", "autoresearch/speed"])
        let neither = try Tool.run(["init"], in: repo)
        #expect(neither.status == 64 && neither.stderr.contains("--name"))
        // Messages name the file the configuration is in.
        _ = try repo.git(["config", "-f", ".autoresearch.config", "experiment.speed.budgett", "3s"])
        _ = try repo.commitFiles([:], message: "typo")
        let typo = try Tool.run(["status"], in: repo)
        #expect(typo.status == 1 && typo.stderr.contains("unknown key 'budgett' in .autoresearch.config"), "\(typo.stderr)")
    }

    @Test(arguments: [
        ("evaluate_cmd sh evaluate.sh\nmetric: x\n", "line 1 of", "is not 'key: value'"),
        ("metric: x\n", "has no evaluate_cmd", "evaluate_cmd: python evaluate.py"),
        ("evaluate_cmd: sh e.sh\nmetric: x\nmetric_direction: up\n", "metric_direction in", "'up', not lower or higher"),
        ("evaluate_cmd: sh e.sh\nmetric: x\ntime_budget_minutes: 0x10\n", "time_budget_minutes in", "not a number of minutes"),
        ("evaluate_cmd: sh e.sh\nmetric: x\ntime_budget_minutes: -1\n", "time_budget_minutes in", "not a number of minutes"),
        ("evaluate_cmd: sh e.sh\nmetric_grep: ^val loss:\n", "invalid metric name 'val loss'", "one word"),
        ("evaluate_cmd: sh e.sh\nmetric: x\n\u{1B}]0;owned\u{07}\n", "line 3 of", "^[]0;owned^G"),
    ])
    func malformedSkillConfigsAreRefusedClearly(config: String, message: String, hint: String) throws {
        let (repo, _) = try skillRepository(config: config)
        let output = try Tool.run(["init", "--from-skill", ".autoresearch/engineering/api-speed"], in: repo)
        #expect(output.status == 1 && output.stderr.contains(message) && output.stderr.contains(hint), "\(output.stderr)")
        #expect(!output.stderr.contains("\u{1B}"))
        #expect(try repo.gitLine("rev-parse", "--abbrev-ref", "HEAD") != "autoresearch/api-speed")
    }

    @Test func binaryOrHugeSkillConfigsAreNotRead() throws {
        let (repo, _) = try skillRepository()
        try repo.write("binary.cfg", "evaluate_cmd: a\0b\n")
        try repo.write("huge.cfg", String(repeating: "# padding\n", count: 7000))
        for (file, reason) in [("binary.cfg", "not UTF-8 text"), ("huge.cfg", "larger than 65536 bytes"), ("missing.cfg", "cannot read")] {
            let output = try Tool.run(["init", "--from-skill", file, "--name", "x"], in: repo)
            #expect(output.status == 1 && output.stderr.contains(reason), "\(output.stderr)")
        }
    }

    @Test func importOfTheSkillsResultsKeepsEveryRow() throws {
        let (repo, c) = try skillRepository()
        #expect(try Tool.run(["init", "--from-skill", ".autoresearch/engineering/api-speed"], in: repo).status == 0)
        let results = """
        commit\tmetric\tstatus\tdescription
        \(c[0])\t20.000000\tbaseline\tbaseline
        \(c[0])\t20.100000\tdiscard\tno_improvement_20.1000_vs_20.0000
        \(c[1])\t18.000000\tkeep\timproved_p50_ms_18.0000
        \(c[2])\tN/A\tcrash\ttimeout_8s
        \(c[2])\tN/A\tcrash\texit_3
        \(c[2])\t19.000000\tdiscard\tno_improvement_19.0000_vs_18.0000

        """
        try repo.write(".git/results.tsv", results)
        let output = try Tool.run(["import", ".git/results.tsv"], in: repo)
        #expect(output.status == 0 && output.stdout.contains("imported 6 runs"), "\(output.stdout)")
        let runs = jsonArray(try Tool.run(["log", "--format", "json"], in: repo).stdout)
        #expect(runs.map { $0["status"] as? String } == ["keep", "discard", "keep", "timeout", "crash", "discard"])
        #expect(runs.map { $0["baseline"] as? Bool } == [true, false, false, false, false, false])
        #expect(runs.map { $0["value"] as? Double } == [20, 20.1, 18, nil, nil, 19])
        #expect(runs.map { $0["best_before"] as? Double } == [nil, 20, 20, 18, 18, 18])
        #expect(runs[3]["duration"] as? Double == 8 && runs[4]["exit"] as? Int == 3)
        #expect(Set(runs.map { $0["commit"] as? String }).count == 3)
        // Exported again as it came, `baseline` included; the timeout says what it is.
        #expect(try Tool.run(["export"], in: repo).stdout == results.replacingOccurrences(of: "crash\ttimeout_8s", with: "timeout\ttimeout_8s"))
        let status = try Tool.run(["status"], in: repo).stdout
        #expect(status.contains("best        18 at \(c[1])") && status.contains("baseline 20, +10.00% better"), "\(status)")
        let again = try Tool.run(["import", ".git/results.tsv"], in: repo)
        #expect(again.status == 2 && again.stdout.contains("imported 0 runs") && again.stdout.contains("line 7: already imported from this file"))
        try repo.fsck()
    }

    @Test func importOfKarpathysLayoutKeepsMemoryAndCrashesWithoutValue() throws {
        let (repo, c) = try skillRepository()
        #expect(try Tool.run(["init", "--name", "nano", "--eval", "sh evaluate.sh", "--metric", "val_bpb"], in: repo).status == 0)
        let results = """
        commit\tval_bpb\tmemory_gb\tstatus\tdescription
        \(c[0])\t0.997900\t44.0\tkeep\tbaseline
        \(c[1])\t0.993200\t44.2\tkeep\tincrease LR to 0.04
        \(c[1])\t1.005000\t44.0\tdiscard\tswitch to GeLU activation
        \(c[2])\t0.000000\t0.0\tcrash\tdouble model width (OOM)
        \(c[2])\t0.990100\t45.1\tkeep\tlonger warmup

        """
        try repo.write(".git/results.tsv", results)
        #expect(try Tool.run(["import", ".git/results.tsv"], in: repo).status == 0)
        let runs = jsonArray(try Tool.run(["log", "--format", "json"], in: repo).stdout)
        #expect(runs.map { $0["baseline"] as? Bool } == [true, false, false, false, false])
        #expect(runs.map { $0["delta"] as? Double != nil } == [false, true, true, false, true])
        #expect(runs[3]["value"] == nil && runs[3]["metrics"] == nil && runs[3]["status"] as? String == "crash")
        #expect((runs[1]["metrics"] as? [String: Double])?["memory_gb"] == 44.2)
        #expect(try repo.git(["notes", "--ref", "autoresearch", "show", c[1]]).contains("m.memory_gb=44.2 "))
        let best = jsonArray(try Tool.run(["log", "--format", "json", "--sort", "metric", "--limit", "1"], in: repo).stdout)
        #expect(best.first?["value"] as? Double == 0.9901)
        #expect(try Tool.run(["export", "--layout", "karpathy"], in: repo).stdout == results)
    }

    @Test(arguments: ResultsLayout.allCases)
    func exportImportExportIsByteForByte(layout: ResultsLayout) throws {
        let (repo, c) = try skillRepository()
        #expect(try Tool.run(["init", "--name", "a", "--eval", "sh evaluate.sh", "--metric", "val_bpb", "--direction", "higher"], in: repo).status == 0)
        try repo.write(".git/first.tsv", """
        commit\tval_bpb\tmemory_gb\tgpu/tokens\tstatus\tdescription
        \(c[0])\t0.5\t44.04\t1000\tbaseline\tfirst, with a comma
        \(c[0])\t0.6\t44\t1200.5\tkeep\tsame commit again
        \(c[1])\tN/A\tN/A\t7\ttimeout\ttimeout_8s
        \(c[2])\t0.55\t43.9\t900\tdiscard\tworse\r
        \(c[2])\t0.000000\t0.0\t0\tno-metric\tprinted nothing

        """)
        #expect(try Tool.run(["import", ".git/first.tsv"], in: repo).status == 0)
        let exported = try Tool.run(["export", "--layout", layout.rawValue, "-o", ".git/exported.tsv"], in: repo)
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(try Tool.run(["init", "--name", "b", "--eval", "sh evaluate.sh", "--metric", "val_bpb", "--direction", "higher"], in: repo).status == 0)
        let imported = try Tool.run(["import", ".git/exported.tsv"], in: repo)
        #expect(imported.status == 0 && imported.stdout.contains("imported 5 runs"), "\(imported.stdout)")
        let again = try Tool.run(["export", "--layout", layout.rawValue], in: repo).stdout
        let first = try #require(repo.read(".git/exported.tsv"))
        #expect(Array(again.utf8) == Array(first.utf8), "\(first)\n---\n\(again)")
        #expect(first.split(separator: "\n").count == 6 && first.contains("\ttimeout\t") && first.contains("\tgpu/tokens\t"))
        let refused = try Tool.run(["import", ".git/bad.tsv"], in: repo, environment: [:])
        #expect(refused.status == 1)
        try repo.write(".git/bad.tsv", "commit\tval_bpb\tpeak mem\tstatus\tdescription\n")
        let badColumn = try Tool.run(["import", ".git/bad.tsv"], in: repo)
        #expect(badColumn.status == 1 && badColumn.stderr.contains("column 'peak mem' of results.tsv is not a metric name"), "\(badColumn.stderr)")
        try repo.fsck()
    }

    @Test func logStatusTakesSeveralStatusesAndEveryOneItPrints() throws {
        let repo = try repositoryWithRuns()
        let statuses = { (arguments: [String]) in
            jsonArray(try Tool.run(["log", "--format", "json"] + arguments, in: repo).stdout).map { $0["status"] as? String ?? "?" }
        }
        #expect(try statuses(["--status", "keep", "--status", "crash"]) == ["keep", "keep", "crash", "keep"])
        #expect(try statuses(["--status", "discard,crash"]) == ["discard", "crash"])
        #expect(try statuses(["--status", "baseline"]) == ["keep"])
        #expect(try statuses(["--status", "baseline,discard"]) == ["keep", "discard"])
        let printed = Set(try Tool.run(["log"], in: repo).stdout.split(separator: "\n").dropFirst().map { String($0.split(separator: " ", omittingEmptySubsequences: true)[2]) })
        for status in printed { #expect(try Tool.run(["log", "--status", status], in: repo).status == 0, "\(status)") }
    }
}

/// A Python that can import `jsonschema`: Debian's (`.ci/run` installs `python3-jsonschema`),
/// else the `python3` on PATH.
let pythonWithJSONSchema: String? = ["/usr/bin/python3", "python3"].first { python in
    (try? runProgram("/usr/bin/env", [python, "-c", "import jsonschema"], in: "/").status) == 0
}

/// A record with every field set, as a run of experiment `s` on `commit` would hold them.
func fullRecord(artifacts tree: String) -> RunRecord {
    let now = Date()
    var record = RunRecord(experiment: "s", run: RunID.make(at: now), status: .discard, metric: "score", value: 6, bestBefore: 4,
                           direction: .lower, duration: 1.25, start: now, exitCode: 0, reason: "better by 0, not more than the gate",
                           description: "every field", host: "lab-1")
    record.worker = 1
    record.evaluator = "0123456789ab"
    record.samples = [6, 6.5, 5.5]
    record.noise = 0.7
    record.stage = "smoke"
    record.smokeValue = 6.1
    record.targets = ["a", "b"]
    record.metrics = [("a/score", 6), ("peak_mb", 300)]
    record.breach = "peak_mb=300 breaks peak_mb <= 200"
    record.artifacts = tree
    record.artifactsSkipped = "big.bin"
    record.extra = [("future_key", "kept")]
    return record
}

/// The JSON outputs hold every record field and match `docs/record.schema.json`, checked by an
/// independent validator (Python's `jsonschema`, Draft 2020-12).
@Suite(.ownThreads) struct RecordSchemaTests {
    static let schemaPath = packageRoot + "/docs/record.schema.json"

    @Test func everyRecordFieldIsInTheJSONAndInTheSchema() throws {
        let record = fullRecord(artifacts: String(repeating: "a", count: 40))
        let json = Dictionary(uniqueKeysWithValues: record.jsonFields.map { ($0.key, $0.value) })
        let renamed = ["v": "version", "desc": "description"]
        for key in Self.keys(of: record.line) {
            let jsonKey = key.hasPrefix("m.") ? "metrics" : key == "future_key" ? "extra" : renamed[key] ?? key
            #expect(json[jsonKey] != nil, "record key \(key) is not in the JSON")
        }
        #expect(Self.keys(of: record.line).count == 27)
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.schemaPath))) as? [String: Any])
        let properties = ((schema["$defs"] as? [String: Any])?["recordFields"] as? [String: Any])?["properties"] as? [String: Any] ?? [:]
        #expect(Set(json.keys) == Set(properties.keys))
    }

    @Test(.enabled(if: pythonWithJSONSchema != nil, "python3 with jsonschema is needed: apt-get install python3-jsonschema (.ci/run does)"))
    func logShowAndStatusOutputsMatchTheSchema() throws {
        let repo = try repositoryWithRuns()
        let record = fullRecord(artifacts: try repo.gitLine("rev-parse", "HEAD^{tree}"))
        _ = try repo.git(["notes", "--ref", "autoresearch", "append", "-m", record.line, "HEAD"])
        try repo.write(".git/results.tsv", "commit\tval_bpb\tmemory_gb\tstatus\tdescription\n\(try repo.gitLine("rev-parse", "--short", "HEAD"))\t0.000000\t0.0\tcrash\tOOM\n")
        #expect(try Tool.run(["import", ".git/results.tsv"], in: repo).status == 0)
        let log = try Tool.run(["log", "--format", "json"], in: repo).stdout
        let runs = jsonArray(log)
        #expect(runs.count == 7)
        let full = try #require(runs.first { $0["run"] as? String == record.run })
        #expect((full["samples"] as? [Double]) == [6, 6.5, 5.5] && full["noise"] as? Double == 0.7 && full["worker"] as? Int == 1)
        #expect((full["metrics"] as? [String: Double]) == ["a/score": 6, "peak_mb": 300] && full["smoke"] as? Double == 6.1)
        #expect((full["commit"] as? String)?.count == 40 && full["exit"] as? Int == 0)
        var outputs = [("log", log), ("status", try Tool.run(["status", "--format", "json"], in: repo).stdout)]
        for run in runs.compactMap({ $0["run"] as? String }) {
            outputs.append(("show", try Tool.run(["show", run, "--format", "json"], in: repo).stdout))
        }
        try Self.validate(outputs, in: repo)
    }

    @Test(.enabled(if: pythonWithJSONSchema != nil, "python3 with jsonschema is needed: apt-get install python3-jsonschema (.ci/run does)"))
    func runLoopListBestDiffPromoteAndPruneOutputsMatchTheSchema() throws {
        let repo = try scenarioRepository()
        try repo.git(["branch", "target"])
        var outputs: [(String, String)] = []
        func output(_ definition: String, _ arguments: [String], status: Int32 = 0) throws {
            let result = try Tool.run(arguments + ["--format", "json"], in: repo)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            outputs.append((definition, result.stdout))
        }
        try output("run", ["run"])
        try repo.write("candidate.txt", "value 5\n")
        try output("run", ["run", "-m", "five"])
        try output("run", ["run"], status: 14)
        #expect(outputs.last?.1.contains("nothing-to-evaluate") == true)
        try repo.write("candidate.txt", "crash\n")
        try output("run", ["run", "-m", "broken"], status: 11)
        // A value of its own per worker and iteration: no run is a noop (a noop has no 'worker').
        let agent = try repo.agent("echo \"value $((100 + ${AUTORESEARCH_WORKER:-0} * 10 + AUTORESEARCH_ITERATION))\" > candidate.txt\n")
        for jobs in ["1", "2"] {  // run lines of parallel workers hold 'worker'
            let loop = try Tool.run(["loop", "--format", "json", "--agent", agent, "--max-runs", "2", "--jobs", jobs], in: repo)
            let parsed = parseLoopOutput(loop)
            #expect(parsed.status == 0 && parsed.runs.count == 2 && parsed.summary["stop"] as? String == "max-runs", "\(loop.stdout)\(loop.stderr)")
            #expect(parsed.runs.allSatisfy { ($0["worker"] != nil) == (jobs == "2") }, "\(loop.stdout)")
            outputs += loop.stdout.split(separator: "\n").map { ("loop", String($0)) }
        }
        try output("list", ["list"])
        try output("list", ["list", "--long"])
        try output("best", ["best"])
        try output("diff", ["diff", "baseline", "best"])
        try output("diff", ["diff", "baseline", "last", "--no-patch"])
        try output("promote", ["promote", "--into", "target"])
        try output("prune", ["prune", "--status", "keep", "--status", "crash", "--dry-run"])
        #expect(outputs.last?.1.contains(#""role":"baseline""#) == true && outputs.last?.1.contains(#""status":"crash""#) == true)
        try Self.validate(outputs, in: repo)
    }

    @Test(.enabled(if: pythonWithJSONSchema != nil, "python3 with jsonschema is needed: apt-get install python3-jsonschema (.ci/run does)"))
    func pullAdoptAndPushOutputsMatchTheSchema() throws {
        let (remote, _, second) = try AdoptTests.remoteWithBetterBestNotYetPulled()
        var outputs: [(String, String)] = []
        for (definition, arguments) in [("share", ["pull"]), ("adopt", ["adopt", "origin"]), ("adopt", ["adopt", "origin"]), ("share", ["push"])] {
            let result = try Tool.run(arguments + ["--format", "json"], in: second)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            outputs.append((definition, result.stdout))
        }
        #expect(outputs[1].1.contains(#""recheck_run""#) && outputs[2].1.contains(#""adopted":false"#), "\(outputs)")
        #expect(outputs[3].1.contains(#""pushed":["#), "\(outputs[3].1)")
        try Self.validate(outputs, in: second)
        try remote.bare.fsck()
    }

    /// Validates each output against its definition, and checks that the definition refuses the
    /// output with one more field (in each object of an array): a field added to an output
    /// without the schema fails.
    static func validate(_ outputs: [(String, String)], in repo: TempRepository) throws {
        var arguments = [try #require(pythonWithJSONSchema), "-c", validator, schemaPath]
        for (index, (definition, output)) in outputs.enumerated() {
            try repo.write(".git/output-\(index).json", output)
            arguments += [definition, repo.path + "/.git/output-\(index).json"]
        }
        let check = try runProgram("/usr/bin/env", arguments, in: repo.path)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    /// The keys of a logfmt line: the words before `=` outside quoted values.
    static func keys(of line: String) -> [String] {
        var keys: [String] = [], word = "", quoted = false, escaped = false, inValue = false
        for character in line {
            if quoted {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { quoted = false }
            } else if character == " " {
                word = ""
                inValue = false
            } else if inValue {
                if character == "\"" { quoted = true }
            } else if character == "=" {
                keys.append(word)
                inValue = true
            } else {
                word.append(character)
            }
        }
        return keys
    }

    /// Validates JSON files against definitions of the schema (arguments: the schema, then
    /// DEFINITION FILE pairs); prints every error, and every definition that accepts its output
    /// with an unknown field added.
    static let validator = """
    import json, sys, jsonschema
    schema = json.load(open(sys.argv[1]))
    jsonschema.Draft202012Validator.check_schema(schema)
    def with_unknown_field(value):
        return [with_unknown_field(item) for item in value] if isinstance(value, list) else dict(value, unknown_field=1)
    failed = False
    for definition, path in zip(sys.argv[2::2], sys.argv[3::2]):
        validator = jsonschema.Draft202012Validator(dict(schema, **{"$ref": "#/$defs/" + definition}))
        output = json.load(open(path))
        for error in validator.iter_errors(output):
            failed = True
            print(definition, path, list(error.absolute_path), error.message, json.dumps(output))
        if validator.is_valid(with_unknown_field(output)) and output != []:
            failed = True
            print(definition, path, "accepts an unknown field")
    sys.exit(1 if failed else 0)
    """
}
