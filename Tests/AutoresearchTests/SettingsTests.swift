import Autoresearch
import Fixtures
import Foundation
import Git
import Testing

/// An experiment with every setting away from its default, so each one is written.
func experimentWithEverySetting() -> Experiment {
    var experiment = Experiment(name: "all", evaluate: "sh eval.sh", metric: "score", direction: .higher, budget: 90, timeout: 400,
                                grace: 2.5, metricSource: .jsonFile(path: "out/metrics.json", key: "scores.final"),
                                guards: ["eval.sh", "data/*"], agent: "sh agent.sh", agentTimeout: 600, program: "program.md",
                                logLimit: 1 << 20)
    experiment.evaluatorID = "0123abcd"
    experiment.title = "Everything"
    experiment.goal = "cover the table"
    experiment.repeats = 3
    experiment.minDelta = .relative(0.01)
    experiment.noiseWidths = 1.5
    experiment.recheckEvery = 10
    experiment.constraints = [Constraint("peak_vram_mb <= 40000")!, Constraint("latency < 2.5")!]
    experiment.requiredKeys = ["counts.samples", "ok"]
    experiment.smoke = Experiment.Stage(command: "sh eval.sh --quick", budget: 5, timeout: 30)
    experiment.smokeMargin = .absolute(0.05)
    experiment.artifacts = ["out/*.json"]
    experiment.artifactLimit = 4096
    experiment.maxFileSize = 1 << 20
    experiment.maxCandidateSize = 0
    experiment.targets = ["small", "large"]
    experiment.targetsFile = "targets.txt"
    experiment.aggregate = .target("large")
    experiment.launcherArgs = ["--gres=gpu:1", "--partition=gpu"]
    return experiment
}

/// A test's scratch `.autoresearch`, in a directory removed with it.
struct ScratchExperimentFile {
    let directory = ScratchDirectory(prefix: "settings")
    var path: String { directory.path + "/" + ExperimentFile.fileName }
}

@Suite(.ownThreads) struct SettingsTableTests {
    let scratch = ScratchExperimentFile()
    var path: String { scratch.path }
    @Test func everySettingRoundTripsThroughTheFile() throws {
        let experiment = experimentWithEverySetting()
        try ExperimentFile(path: path).write(experiment)
        let written = try String(contentsOfFile: path, encoding: .utf8)
        for setting in Setting.all {
            #expect(written.contains("\t\(setting.key) = "), "\(setting.key) is not written:\n\(written)")
        }
        #expect(try ExperimentFile(path: path).experiment(named: "all") == experiment)
    }

    @Test func defaultsAreLeftOutAndReadBack() throws {
        let experiment = Experiment(name: "plain", evaluate: "true", metric: "loss")
        try ExperimentFile(path: path).write(experiment)
        let keys = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.trimmingCharacters(in: .whitespaces).prefix { $0 != " " } }
        #expect(keys == ["evaluate", "metric", "direction", "budget"])
        #expect(try ExperimentFile(path: path).experiment(named: "plain") == experiment)
    }

    @Test(arguments: [
        ("budget", "soon", "invalid duration 'soon' for budget"),
        ("timeout", "-3s", "invalid duration '-3s' for timeout"),
        ("direction", "sideways", "invalid direction 'sideways' for direction"),
        ("repeats", "many", "invalid number 'many' for repeats"),
        ("recheckEvery", "-1", "invalid number '-1' for recheckEvery"),
        ("noiseWidths", "wide", "invalid number 'wide' for noiseWidths"),
        ("minDelta", "2x", "invalid threshold '2x' for minDelta"),
        ("constraint", "vram lots", "invalid constraint 'vram lots' for constraint"),
        ("artifactLimit", "1MB", "invalid number '1MB' for artifactLimit"),
        ("logLimit", "big", "invalid number 'big' for logLimit"),
    ])
    func aBadValueIsAnErrorNamingItsKey(key: String, text: String, message: String) throws {
        try ExperimentFile(path: path).write(Experiment(name: "bad", evaluate: "true", metric: "loss"))
        try ConfigFile(path: path).set("experiment.bad.\(key)", text)
        let error = try #require(throws: AutoresearchError.self) { try ExperimentFile(path: path).experiment(named: "bad") }
        #expect(error.message == message + " in .autoresearch, experiment 'bad'")
        #expect(error.hint?.isEmpty == false)
    }

    @Test func onlySettingsThatDefineTheMeasurementMakeItDifferent() {
        let experiment = experimentWithEverySetting()
        let alike: [(inout Experiment) -> Void] = [
            { $0.timeout = 1000 }, { $0.grace = 9 }, { $0.agent = nil }, { $0.agentTimeout = 60 }, { $0.title = "Other" },
            { $0.goal = nil }, { $0.program = nil }, { $0.minDelta = nil }, { $0.noiseWidths = 3 }, { $0.recheckEvery = 0 },
            { $0.smoke?.timeout = 60 }, { $0.smokeMargin = nil }, { $0.artifacts = [] }, { $0.artifactLimit = 0 }, { $0.logLimit = 4096 },
        ]
        let different: [(inout Experiment) -> Void] = [
            { $0.evaluate = "sh other.sh" }, { $0.metric = "loss" }, { $0.direction = .lower }, { $0.budget = 60 },
            { $0.metricSource = .output }, { $0.guards = [] }, { $0.evaluatorID = "ffff" }, { $0.repeats = 5 },
            { $0.constraints = [] }, { $0.requiredKeys = [] }, { $0.smoke = nil }, { $0.smoke?.budget = 6 },
            { $0.targets = ["small"] }, { $0.targetsFile = nil }, { $0.aggregate = .mean },
        ]
        for (index, change) in alike.enumerated() {
            var changed = experiment
            change(&changed)
            #expect(changed != experiment && changed.definesSameMeasurement(as: experiment), "change \(index) of the alike ones")
        }
        for (index, change) in different.enumerated() {
            var changed = experiment
            change(&changed)
            #expect(!changed.definesSameMeasurement(as: experiment), "change \(index) of the different ones")
        }
    }

    /// Regenerate the table with `AUTORESEARCH_UPDATE_DOCS=1 swift test --filter theDocsShowTheCodesTable`.
    @Test func theDocsShowTheCodesTable() throws {
        let path = packageRoot + "/docs/decisions.md"
        let docs = try String(contentsOfFile: path, encoding: .utf8)
        let begin = try #require(docs.range(of: "<!-- settings:begin -->\n")), end = try #require(docs.range(of: "<!-- settings:end -->"))
        if ProcessInfo.processInfo.environment["AUTORESEARCH_UPDATE_DOCS"] == "1" {
            try docs.replacingCharacters(in: begin.upperBound..<end.lowerBound, with: Setting.markdownTable())
                .write(toFile: path, atomically: true, encoding: .utf8)
        } else {
            #expect(String(docs[begin.upperBound..<end.lowerBound]) == Setting.markdownTable(),
                    "docs/decisions.md's settings table differs from Setting.all: run AUTORESEARCH_UPDATE_DOCS=1 swift test --filter theDocsShowTheCodesTable")
        }
    }
}

/// `init` on an experiment with a best, end to end: the git CLI reads what it committed.
@Suite(.ownThreads) struct ReconfigurationTests {
    @Test(arguments: [["--timeout", "40s"], ["--agent", "sh agent.sh"], ["--title", "Scores"]])
    func aSettingThatKeepsTheMeasurementKeepsTheBest(flags: [String]) throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        let reinit = try Tool.run(["init", "--name", "s"] + flags, in: repo)
        #expect(reinit.status == 0 && reinit.stdout.contains("Updated experiment"), "\(reinit.stderr)")
        let configured = try repo.gitLine("rev-parse", "HEAD")
        let key = try #require(Setting.all.first { $0.option == flags[0] }).key
        #expect(try repo.gitLine("config", "-f", ".autoresearch", "experiment.s.\(key)") == flags[1])
        #expect(try Tool.run(["run"], in: repo).status == 14)

        try repo.write("candidate.txt", "value 12\n")
        let worse = try Tool.run(["run", "--format", "json"], in: repo)
        #expect(worse.status == 10, "\(worse.stderr)")
        #expect(!worse.stderr.contains("new baseline") && worse.stdout.contains("\"best_before\":10"))
        #expect(try repo.gitLine("rev-parse", "HEAD") == configured)
        #expect(try repo.gitLine("config", "-f", ".autoresearch", "experiment.s.\(key)") == flags[1])

        try repo.write("candidate.txt", "value 7\n")
        let better = try runJSON(repo)
        #expect(better.status == 0)
        #expect(better.object["baseline"] as? Bool == false && better.object["best_before"] as? Double == 10)
        #expect(try repo.git(["merge-base", "--is-ancestor", configured, "HEAD"]).isEmpty)
        let recheck = try Tool.run(["run", "--recheck"], in: repo)
        #expect(recheck.status == 0, "\(recheck.stderr)")
        try repo.fsck()
    }

    @Test(arguments: [["--budget", "2s"], ["--eval", "sh eval.sh; true"]])
    func aSettingThatDefinesTheMeasurementStartsANewBaseline(flags: [String]) throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        #expect(try Tool.run(["init", "--name", "s"] + flags, in: repo).status == 0)
        try repo.write("candidate.txt", "value 12\n")
        let rerun = try Tool.run(["run", "--format", "json"], in: repo)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stderr.contains("this run measures a new baseline"))
        #expect(rerun.stdout.contains("\"baseline\":true"))
    }

    @Test func aSmokeLimitWithoutASmokeCommandIsRefusedNamingTheFlags() throws {
        let repo = try scenarioRepository()
        let output = try Tool.run(["init", "--name", "s", "--smoke-budget", "1s"], in: repo)
        #expect(output.status == 1)
        #expect(output.stderr.contains("--smoke-budget, --smoke-timeout, --smoke-margin need --smoke"))
    }
}
