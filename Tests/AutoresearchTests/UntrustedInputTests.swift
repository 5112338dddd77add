import Foundation
import Testing
import Autoresearch
import Fixtures

/// A repository whose evaluator prints terminal escapes (a title change, a screen clear) with its
/// metric, and two runs whose descriptions hold ESC, BEL and a newline.
private func repositoryWithHostileText() throws -> (repo: TempRepository, description: String) {
    let repo = try TempRepository()
    try repo.commitFiles([
        "eval.sh": #"read value < value.txt; echo "score: $value"; printf '\033]0;owned\007\033[2J\033[31mred\n'"# + "\n",
        "value.txt": "10\n",
    ], message: "project")
    let initialized = try Tool.run(["init", "--name", "s", "--eval", "sh eval.sh", "--metric", "score", "--budget", "5s"], in: repo)
    #expect(initialized.status == 0, "\(initialized.stderr)")
    let description = "faster\u{1B}]0;title\u{07}\u{1B}[2J\nsecond line\tand a tab"
    #expect(try Tool.run(["run", "-m", description], in: repo).status == 0)
    try repo.write("value.txt", "12\n")
    #expect(try Tool.run(["run", "-m", description], in: repo).status == 10)
    return (repo, description)
}

/// True when `text` holds a raw ESC or BEL byte.
private func hasRawControls(_ text: String) -> Bool {
    text.utf8.contains(0x1B) || text.utf8.contains(0x07)
}

@Suite(.ownThreads) struct UntrustedInputTests {
    @Test func controlCharactersAreShownVisiblyOnOneLine() {
        #expect(UntrustedText.visible("a\u{1B}[2Jb\u{07}c\nd\te\u{7F}\u{9B}") == "a^[[2Jb^Gc⏎d^Ie^?<U+009B>")
        #expect(UntrustedText.visible("x\n\ty\r", multiline: true) == "x\n\ty^M")
        #expect(UntrustedText.markdownCell("a|b\nc") == "a\\|b⏎c")
        #expect(UntrustedText.visible("plain ünïcode ✓") == "plain ünïcode ✓")
    }

    @Test func humanOutputNeverCarriesRawEscapes() throws {
        let (repo, description) = try repositoryWithHostileText()
        let log = try Tool.run(["log"], in: repo)
        #expect(log.status == 0 && !hasRawControls(log.stdout))
        #expect(log.stdout.split(separator: "\n").count == 3, "one row per run: \(log.stdout)")
        #expect(log.stdout.contains("faster^[]0;title^G^[[2J⏎second line^Iand a tab"))

        let runs = jsonArray(try Tool.run(["log", "--format", "json"], in: repo).stdout)
        #expect(runs.map { $0["description"] as? String } == [description, description])
        let id = try #require(runs.last?["run"] as? String)
        let show = try Tool.run(["show", id], in: repo)
        #expect(show.status == 0 && !hasRawControls(show.stdout))
        #expect(show.stdout.contains("  | ^[]0;owned^G^[[2J^[[31mred"))
        for arguments in [["status"], ["list", "--long"], ["report"], ["best"], ["log", "--format", "markdown"]] {
            let output = try Tool.run(arguments, in: repo)
            #expect(output.status == 0 && !hasRawControls(output.stdout + output.stderr), "\(arguments)")
        }
        let missing = try Tool.run(["show", "no\u{1B}[2Jsuch"], in: repo)
        #expect(missing.status == 1 && !hasRawControls(missing.stderr) && missing.stderr.contains("no^[[2Jsuch"))
    }

    @Test func machineFormatsEscapeByTheirRules() throws {
        let (repo, _) = try repositoryWithHostileText()
        let tsv = try Tool.run(["log", "--format", "tsv"], in: repo).stdout.split(separator: "\n")
        #expect(tsv.count == 3)
        #expect(tsv[1].split(separator: "\t").last == "faster\u{1B}]0;title\u{07}\u{1B}[2J\\nsecond line\\tand a tab")
        let csv = try Tool.run(["log", "--format", "csv"], in: repo).stdout
        #expect(csv.contains(",\"faster\u{1B}]0;title\u{07}\u{1B}[2J\nsecond line\tand a tab\""))
    }

    @Test func aTypoInAKeyNamesTheNearestKnownKey() throws {
        let repo = try scenarioRepository()
        try repo.commitExperimentSetting("budgett", "5s")
        let run = try Tool.run(["run"], in: repo)
        #expect(run.status == 1)
        #expect(run.stderr.contains("unknown key 'budgett'") && run.stderr.contains("did you mean 'budget'?"), "\(run.stderr)")
    }

    @Test func aSyntaxErrorNamesTheCommittedFile() throws {
        let repo = try scenarioRepository()
        try repo.write(".autoresearch", (repo.read(".autoresearch") ?? "") + "[experiment \"s\"\n  broken\n")
        try repo.git(["commit", "-qam", "break it"])
        let status = try Tool.run(["status"], in: repo)
        let commit = try repo.gitLine("rev-parse", "--short=7", "HEAD")
        #expect(status.status == 1)
        #expect(status.stderr.contains(".autoresearch in commit \(commit)") && !status.stderr.contains("config-cache"), "\(status.stderr)")
    }

    @Test func aTooLongNameIsRefusedBeforeAnythingIsWritten() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["eval.sh": "echo 'score: 1'\n"], message: "project")
        let before = try repo.git(["log", "--format=%H", "main"])
        let output = try Tool.run(["init", "--name", String(repeating: "a", count: 300), "--eval", "sh eval.sh", "--metric", "score"], in: repo)
        #expect(output.status == 1 && output.stderr.contains("too long") && output.stderr.contains("at most 100"), "\(output.stderr)")
        #expect(try repo.git(["log", "--format=%H", "main"]) == before)
        #expect(!repo.exists(".autoresearch"))
        #expect(try repo.git(["branch", "--list"]).split(separator: "\n").count == 1)
    }

    @Test func aDamagedAttemptsRefIsNamedAndNothingIsStaged() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        let blob = try repo.gitLine("hash-object", "-w", "candidate.txt")
        try repo.git(["update-ref", "refs/autoresearch/s/attempts", blob])
        try repo.write("candidate.txt", "value 5\n")
        let before = try repo.git(["status", "--porcelain"])
        let head = try repo.gitLine("rev-parse", "HEAD")
        let run = try Tool.run(["run"], in: repo)
        #expect(run.status == 1)
        #expect(run.stderr.contains("refs/autoresearch/s/attempts") && run.stderr.contains("git update-ref -d refs/autoresearch/s/attempts"), "\(run.stderr)")
        #expect(try repo.git(["status", "--porcelain"]) == before)
        #expect(try repo.gitLine("rev-parse", "HEAD") == head)
        try repo.git(["update-ref", "-d", "refs/autoresearch/s/attempts"])
        #expect(try Tool.run(["run"], in: repo).status == 0)
    }

    @Test func statusWarnsWhenTheBestLostItsRecord() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.write("candidate.txt", "value 5\n")
        #expect(try Tool.run(["run"], in: repo).status == 0)
        #expect(!(try Tool.run(["status"], in: repo).stderr.contains("no record")))
        try repo.git(["notes", "--ref", "autoresearch", "add", "-f", "-m", "overwritten", "autoresearch/s"])
        let status = try Tool.run(["status"], in: repo)
        let tip = try repo.gitLine("rev-parse", "--short=7", "autoresearch/s")
        #expect(status.status == 0 && status.stderr.contains("commit \(tip) on autoresearch/s was evaluated"), "\(status.stderr)")
        #expect(status.stderr.contains("has no record") && status.stdout.contains("best        10 "))
    }

    @Test func pushToAClosedPortSaysConnectionRefused() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.git(["remote", "add", "closed", "git://127.0.0.1:1/nothing.git"])
        let push = try Tool.run(["push", "closed"], in: repo)
        #expect(push.status == 1)
        #expect(push.stderr.contains("cannot reach closed (git://127.0.0.1:1/nothing.git): connection refused"), "\(push.stderr)")
        #expect(!push.stderr.contains("another machine"))
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to give the repository to another user"))
    func aRepositoryOfAnotherUserIsRefusedUnlessSafeDirectoryListsIt() throws {
        let repo = try scenarioRepository()
        let home = try TempRepository()  // an empty directory for a global configuration of its own
        let environment = ["HOME": home.path, "XDG_CONFIG_HOME": home.path + "/.config"]
        #expect(try runProgram("/bin/chown", ["-R", "65534", repo.path], in: home.path).status == 0)
        let git = try runProgram("/usr/bin/git", ["status"], in: repo.path, environment: environment)
        #expect(git.status != 0 && git.stderr.contains("dubious ownership"), "the oracle: \(git.stderr)")

        let refused = try Tool.run(["status"], in: repo, environment: environment)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("detected dubious ownership in repository at '\(repo.path)'"), "\(refused.stderr)")
        #expect(refused.stderr.contains("git config --global --add safe.directory \(repo.path)"))

        let add = try runProgram("/usr/bin/git", ["config", "--global", "--add", "safe.directory", repo.path], in: home.path, environment: environment)
        #expect(add.status == 0)
        #expect(try runProgram("/usr/bin/git", ["status"], in: repo.path, environment: environment).status == 0)
        let accepted = try Tool.run(["status"], in: repo, environment: environment)
        #expect(accepted.status == 0, "\(accepted.stderr)")
    }
}
