import Autoresearch
import Fixtures
import Foundation
import Git
import Testing

/// Runs `git ARGUMENTS` (the real git CLI, which finds the built tool as `git autoresearch`) in
/// `directory`.
func throughGit(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> ProcessOutput {
    var env = environment
    let binDirectory = URL(fileURLWithPath: Tool.path).deletingLastPathComponent().path
    env["PATH"] = binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    return try runProgram("/usr/bin/git", arguments, in: directory, environment: env)
}

@Suite(.ownThreads) struct GitEnvironmentTests {
    @Test func gitsCommandLineSettingsAndIdentityVariablesNameTheToolsCommits() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.write("candidate.txt", "value 5\n")
        let run = try throughGit(["-c", "user.name=Xavier O'Neil", "-c", "user.email=x@example.com", "autoresearch", "run"], in: repo.path,
                                 environment: ["GIT_COMMITTER_EMAIL": "ci@example.com", "GIT_AUTHOR_DATE": "2023-11-14 22:13:20 +0100"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try repo.gitLine("log", "-1", "--format=%an|%ae|%cn|%ce|%ad", "--date=raw") == "Xavier O'Neil|x@example.com|Xavier O'Neil|ci@example.com|1699996400 +0100")
    }

    @Test func aDateGitWouldRefuseIsAClearError() throws {
        let repo = try scenarioRepository()
        #expect(try Tool.run(["run"], in: repo).status == 0)
        try repo.write("candidate.txt", "value 5\n")
        let run = try Tool.run(["run"], in: repo, environment: ["GIT_AUTHOR_DATE": "yesterday-ish"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("invalid date 'yesterday-ish'"), "\(run.stderr)")
    }

    @Test func gitDirAndWorkTreeOpenTheRepositoryFromAnotherDirectory() throws {
        let repo = try scenarioRepository()
        let elsewhere = FileManager.default.temporaryDirectory.path
        let options = ["--git-dir=\(repo.path)/.git", "--work-tree=\(repo.path)"]
        let baseline = try throughGit(options + ["autoresearch", "run"], in: elsewhere)
        #expect(baseline.status == 0, "\(baseline.stderr)")
        try repo.write("candidate.txt", "value 4\n")
        let kept = try throughGit(options + ["-c", "user.name=Elsewhere", "autoresearch", "run"], in: elsewhere)
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(try repo.gitLine("log", "-1", "--format=%an") == "Elsewhere")
        let status = try throughGit(options + ["autoresearch", "status"], in: elsewhere)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("score=4"), "\(status.stdout)")
        let plain = try Tool.run(["status"], in: repo, directory: nil, environment: ["GIT_DIR": repo.path + "/nowhere"])
        #expect(plain.status == 1, "GIT_DIR naming no repository must not fall back to the current directory's")
    }

    @Test func gitsParameterQuotingIsReadBothStyles() throws {
        let entries = try CommandLineConfig.parse(#"'user.name'='it'\''s X' 'color.ui'= 'core.pager=less -R' 'a.b'"#)
        #expect(entries.map(\.key) == ["user.name", "color.ui", "core.pager", "a.b"])
        #expect(entries.map(\.value) == ["it's X", nil, "less -R", nil])
        #expect(throws: GitError.self) { try CommandLineConfig.parse("'unclosed=1") }
        let text = try CommandLineConfig.configText([("url.https://x.org/a.b.insteadOf", "q\"\\"), ("color.ui", nil)])
        #expect(text == "[url \"https://x.org/a.b\"]\n\tinsteadOf = \"q\\\"\\\\\"\n[color]\n\tui\n")
        #expect(throws: GitError.self) { try CommandLineConfig.configText([("nosection", "1")]) }
    }
}

/// A scenario repository with three runs of `s`: the baseline (score 10), a keep (5), a discard (7).
private func repositoryWithThreeRuns() throws -> (repo: TempRepository, runs: [RunEntry]) {
    let repo = try scenarioRepository()
    for value in [10, 5, 7] {
        try repo.write("candidate.txt", "value \(value)\n")
        #expect(try Tool.run(["run"], in: repo).status != 1)
    }
    let runs = try Workspace(discoveringFrom: repo.path).runs(experiment: "s")
    try #require(runs.map(\.record.status) == [.keep, .keep, .discard])
    return (repo, runs)
}

/// The run `show NAME` shows, or its error.
private func shownRun(_ name: String, in repo: TempRepository) throws -> (run: String?, error: String) {
    let output = try Tool.run(["show", name, "--no-patch", "--format", "json"], in: repo)
    let object = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
    return (object?["run"] as? String, output.stderr)
}

@Suite(.ownThreads) struct RunNameTests {
    @Test func aRunIsNamedByEitherEndOfItsIdItsCommitOrAKeyword() throws {
        let (repo, runs) = try repositoryWithThreeRuns()
        let ids = runs.map(\.record.run)
        #expect(try shownRun(ids[2], in: repo).run == ids[2])
        #expect(try shownRun(String(ids[1].suffix(6)), in: repo).run == ids[1])
        #expect(try shownRun(String(ids[0].prefix(ids[0].count - 1)), in: repo).run == ids[0] || ids.filter { $0.hasPrefix(ids[0].dropLast()) }.count > 1)
        #expect(try shownRun(String(runs[2].commit.hex.prefix(9)), in: repo).run == ids[2])
        #expect(try shownRun("autoresearch/s", in: repo).run == ids[1])
        #expect(try shownRun("autoresearch/s~1", in: repo).run == ids[0])
        #expect(try shownRun("best", in: repo).run == ids[1])
        #expect(try shownRun("baseline", in: repo).run == ids[0])
        #expect(try shownRun("last", in: repo).run == ids[2])
        let artifacts = try Tool.run(["artifacts", "last"], in: repo)
        #expect(artifacts.status == 0 && artifacts.stdout.contains(ids[2]), "\(artifacts.stderr)")
    }

    @Test func anAmbiguousNameListsTheCandidatesAndAnUnknownOneSaysHowToNameARun() throws {
        let (repo, runs) = try repositoryWithThreeRuns()
        let ambiguous = try shownRun("2", in: repo)
        #expect(ambiguous.run == nil)
        #expect(ambiguous.error.contains("'2' names 3 runs"), "\(ambiguous.error)")
        for run in runs { #expect(ambiguous.error.contains("\(run.record.run) \(run.record.status.rawValue) on \(run.commit.short)")) }
        let unknown = try shownRun("zzzz", in: repo)
        #expect(unknown.error.contains("no run 'zzzz'") && unknown.error.contains("best, baseline, last"), "\(unknown.error)")
    }

    @Test func hintsNameTheBranchTheExperimentStartedFromNotMain() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["eval.sh": "echo 'score: 1'\n"], message: "project")
        try repo.git(["branch", "-m", "main", "trunk"])
        #expect(try Tool.run(["init", "--name", "s", "--eval", "sh eval.sh", "--metric", "score"], in: repo).status == 0)
        #expect(try Tool.run(["run"], in: repo).status == 0)
        let promote = try Tool.run(["promote"], in: repo)
        #expect(promote.status == 1)
        #expect(promote.stderr.contains("git autoresearch promote --into trunk"), "\(promote.stderr)")
        try repo.git(["config", "init.defaultBranch", "elsewhere"])
        #expect(try Tool.run(["promote"], in: repo).stderr.contains("--into trunk"), "the branch the experiment started from comes first")
        try FileManager.default.removeItem(atPath: repo.path + "/.git/autoresearch/s/base-branch")
        try repo.git(["branch", "elsewhere", "trunk"])
        #expect(try Tool.run(["promote"], in: repo).stderr.contains("--into elsewhere"), "then init.defaultBranch")
        try repo.git(["branch", "-D", "elsewhere"])
        try repo.git(["update-ref", "refs/remotes/origin/trunk", "trunk"])
        try repo.git(["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk"])
        #expect(try Tool.run(["promote"], in: repo).stderr.contains("--into trunk"), "then origin/HEAD")
    }
}

@Suite(.ownThreads) struct SmallGapsTests {
    @Test func initQuietPrintsNothingAndUsageErrorsSayErrorAsGitDoes() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["eval.sh": "echo 'score: 1'\n"], message: "project")
        let quiet = try Tool.run(["init", "-q", "--name", "s", "--eval", "sh eval.sh", "--metric", "score"], in: repo)
        #expect(quiet.status == 0 && quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(quiet.stdout)\(quiet.stderr)")
        #expect(try repo.gitLine("branch", "--show-current") == "autoresearch/s")
        let unknown = try Tool.run(["frobnicate"], in: repo)
        #expect(unknown.status == 64)
        #expect(unknown.stderr.hasPrefix("error: "), "\(unknown.stderr)")
    }
}

@Suite(.ownThreads) struct QuietRunTests {
    /// `-q` silences notices, but not the one way back to the files a discard took from the
    /// work tree: an untracked file of the user's went into the candidate, and is gone after it.
    @Test func quietStillSaysHowToBringBackTheFilesADiscardTook() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["eval.sh": "echo \"score: $(cat value.txt)\"\n", "value.txt": "5\n"], message: "project")
        #expect(try Tool.run(["init", "-q", "--name", "s", "--eval", "sh eval.sh", "--metric", "score"], in: repo).status == 0)
        #expect(try Tool.run(["run", "-q"], in: repo).status == 0)
        try repo.write("value.txt", "9\n")
        try repo.write("notes-of-mine.txt", "mine\n")
        let quiet = try Tool.run(["run", "-q"], in: repo)
        #expect(quiet.status == 10, "a discard")
        #expect(quiet.stdout.isEmpty, "\(quiet.stdout)")
        let lines = quiet.stderr.split(separator: "\n")
        #expect(lines.count == 1, "only that line: \(quiet.stderr)")
        let restore = try #require(lines.first { $0.contains("git restore --source=") }, "\(quiet.stderr)")
        #expect(restore.contains("notes-of-mine.txt"))
        #expect(!repo.exists("notes-of-mine.txt"))
        try runProgram("/bin/sh", ["-c", String(restore[restore.range(of: "git restore")!.lowerBound...])], in: repo.path)
        #expect(repo.read("notes-of-mine.txt") == "mine\n")
    }
}

@Suite(.ownThreads) struct DemoTests {
    @Test func theDemoRemovesItsTemporaryRepositoryUnlessKept() throws {
        let scratch = try TempRepository()
        let temporary = scratch.path + "/tmp"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        let removed = try Tool.run(["demo"], in: scratch, environment: ["TMPDIR": temporary])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty)
        #expect(removed.stdout.contains("Removed the demo repository"))
        let kept = try Tool.run(["demo", "--keep"], in: scratch, environment: ["TMPDIR": temporary])
        #expect(kept.status == 0, "\(kept.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary)
        try #require(left.count == 1)
        let log = try runProgram("/usr/bin/git", ["log", "--notes=autoresearch", "--format=%N", "autoresearch/demo"], in: temporary + "/" + left[0])
        #expect(log.stdout.contains("status=keep"), "\(log.stdout)")
    }
}

/// Runs a command in a new terminal (a pty) and prints what the terminal showed.
private let inTerminalScript = """
import os, pty, sys
pid, master = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
shown = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    shown += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"""

/// The tool (`git-autoresearch ARGS`, or through git with `git ARGS`) in a terminal, or on a
/// pipe; `NO_COLOR` unset, so that only the terminal and the settings decide.
private func output(_ arguments: [String], in repo: TempRepository, terminal: Bool, throughGit: Bool = false,
                    environment: [String: String] = [:]) throws -> ProcessOutput {
    let script = repo.path + "/.git/in-terminal.py"
    try inTerminalScript.write(toFile: script, atomically: true, encoding: .utf8)
    var env = environment
    env["NO_COLOR"] = environment["NO_COLOR"] ?? ""
    env["TERM"] = "xterm"
    env["PATH"] = URL(fileURLWithPath: Tool.path).deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    let command = throughGit ? ["git"] + arguments : ["git-autoresearch"] + arguments
    return try runProgram(terminal ? "/usr/bin/python3" : "/usr/bin/env", terminal ? [script] + command : command, in: repo.path, environment: env)
}

private let escape = "\u{1B}["

@Suite(.ownThreads) struct ColorAndPagerTests {
    @Test func colourFollowsTheTerminalTheFlagsAndGitsSettings() throws {
        let (repo, _) = try repositoryWithThreeRuns()
        let noPager = ["GIT_PAGER": "cat"]
        #expect(try output(["log"], in: repo, terminal: true, environment: noPager).stdout.contains(escape))
        #expect(try !output(["log"], in: repo, terminal: false).stdout.contains(escape))
        #expect(try output(["log", "--color"], in: repo, terminal: false).stdout.contains(escape))
        #expect(try output(["--color=always", "log"], in: repo, terminal: false).stdout.contains(escape))
        #expect(try !output(["log", "--no-color"], in: repo, terminal: true, environment: noPager).stdout.contains(escape))
        #expect(try !output(["-c", "color.ui=never", "autoresearch", "log"], in: repo, terminal: true, throughGit: true, environment: noPager).stdout.contains(escape))
        #expect(try output(["-c", "color.ui=always", "autoresearch", "log"], in: repo, terminal: false, throughGit: true).stdout.contains(escape))
        #expect(try !output(["log"], in: repo, terminal: true, environment: noPager.merging(["NO_COLOR": "1"]) { $1 }).stdout.contains(escape))
        try repo.git(["config", "color.autoresearch", "false"])
        #expect(try !output(["log"], in: repo, terminal: true, environment: noPager).stdout.contains(escape))
        let invalid = try output(["log", "--color=sometimes"], in: repo, terminal: false)
        #expect(invalid.status == 64 && invalid.stderr.contains("invalid --color value 'sometimes'"), "\(invalid.stderr)")
    }

    @Test func showColoursTheDiffOnATerminal() throws {
        let (repo, _) = try repositoryWithThreeRuns()
        let shown = try output(["show", "last"], in: repo, terminal: true, environment: ["GIT_PAGER": "cat"]).stdout
        #expect(shown.contains("\(escape)32m+value 7"), "\(shown)")
        #expect(shown.contains("\(escape)31m-value 5"), "\(shown)")
        #expect(try output(["show", "last"], in: repo, terminal: false).stdout.contains("\n+value 7"))
    }

    @Test func longOutputGoesThroughThePagerOnATerminalAsGitDecides() throws {
        let (repo, _) = try repositoryWithThreeRuns()
        let calls = repo.path + "/.git/pager-calls"
        // Run through sh, not executed: a child another test forks meanwhile can hold the file
        // open for writing, and exec would fail with ETXTBSY.
        try repo.write(".git/pager.sh", "echo \"$0 LESS=$LESS\" >> \(calls)\nexec cat\n")
        let pager = ["GIT_PAGER": "sh " + repo.path + "/.git/pager.sh"]
        func pagerCalls() -> [String] { (try? String(contentsOfFile: calls, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? [] }
        let paged = try output(["log"], in: repo, terminal: true, environment: pager)
        #expect(paged.status == 0 && paged.stdout.contains("discard"), "\(paged.stdout)")
        #expect(pagerCalls() == ["\(repo.path)/.git/pager.sh LESS=FRX"])
        #expect(try output(["report"], in: repo, terminal: true, environment: pager.merging(["LESS": "S"]) { $1 }).status == 0)
        #expect(pagerCalls().last?.hasSuffix("LESS=S") == true, "a LESS the user set is kept")
        let unpaged: [(arguments: [String], terminal: Bool, throughGit: Bool, environment: [String: String])] = [
            (["log"], false, false, pager),
            (["log", "--no-pager"], true, false, pager),
            (["-P", "log"], true, false, pager),
            (["status"], true, false, pager),
            (["log"], true, false, pager.merging(["GIT_PAGER_IN_USE": "true"]) { $1 }),
            (["-c", "pager.autoresearch=false", "autoresearch", "log"], true, true, pager),
        ]
        for (arguments, terminal, viaGit, environment) in unpaged {
            #expect(try output(arguments, in: repo, terminal: terminal, throughGit: viaGit, environment: environment).status == 0)
            #expect(pagerCalls().count == 2, "\(arguments) must not page")
        }
        try repo.git(["config", "pager.autoresearch.show", "sh " + repo.path + "/.git/pager.sh"])
        #expect(try output(["show", "last"], in: repo, terminal: true, environment: ["PAGER": "false"]).status == 0)
        #expect(pagerCalls().count == 3, "pager.autoresearch.<command> names the pager")
    }
}

private let bashCompletion = "/usr/share/bash-completion/bash_completion"

/// Completes each line in a real bash with bash-completion and git's completion loaded, the tool's
/// script found where `make install` puts it (through `XDG_DATA_DIRS`); prints `LINE => REPLIES`.
private let completeLinesScript = #"""
source /usr/share/bash-completion/bash_completion
for line in "$@"; do
  COMP_LINE="$line"; COMP_POINT=${#line}
  read -ra COMP_WORDS <<<"$line"
  [[ "$line" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  complete -p "${COMP_WORDS[0]}" >/dev/null 2>&1 || _completion_loader "${COMP_WORDS[0]}"
  function=$(complete -p "${COMP_WORDS[0]}" | sed -E 's/.* -F ([^ ]+) .*/\1/')
  "$function" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  echo "$line => ${COMPREPLY[*]}"
done
"""#

/// Types lines and a TAB in a real interactive zsh (through zsh's pseudo-terminal module).
private let zshCompleteScript = #"""
# Usage: zsh -f t2.zsh FPATH_DIR LINE EXPECTED [LINE EXPECTED ...]: types each LINE and a TAB in
# an interactive zsh (with compinit and FPATH_DIR in fpath), prints "LINE => yes" once EXPECTED
# appears on the screen within 10 s, else "LINE => no: SCREEN".
zmodload zsh/zpty
dir=$1; shift
while (( $# >= 2 )); do
  line=$1 expected=$2; shift 2
  zpty z 'TERM=dumb zsh -f -i'
  zpty -w z "PS1='READY> '; fpath=($dir \$fpath); autoload -U compinit; compinit -u -D; setopt nobeep"
  screen=""
  for i in {1..100}; do zpty -r -t z chunk && screen+=$chunk; [[ $screen == *"READY> "* ]] && break; sleep 0.1; done
  zpty -w -n z "$line"$'\t'
  screen=""
  result=no
  for i in {1..100}; do
    zpty -r -t z chunk && screen+=$chunk
    if [[ ${screen//$'\r'/} == *"$expected"* ]]; then result=yes; break; fi
    sleep 0.1
  done
  [[ $result == yes ]] && print -r -- "$line => yes" || print -r -- "$line => no: ${screen//$'\r'/}"
  zpty -d z
done
"""#

@Suite(.ownThreads) struct CompletionTests {
    /// What each shell test types before its TAB.
    static let typed = ["git autoresearch lo", "git autoresearch loop --max-r", "git -C /tmp autoresearch sh", "git-autoresearch lo",
                        "git autoresearch show --no-p"]

    /// `PATH` with the tool's binary first, as after `make install`.
    static var pathWithTheTool: String {
        URL(fileURLWithPath: Tool.path).deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    }

    /// Writes what `completion ARGUMENTS` prints to `relativePath` in `scratch`, where `make install` would put it.
    static func install(_ arguments: [String], at relativePath: String, in scratch: TempRepository) throws {
        let script = try Tool.run(["completion"] + arguments, in: scratch)
        #expect(script.status == 0, "\(script.stderr)")
        try scratch.write(relativePath, script.stdout)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: bashCompletion), "bash-completion is not installed (apt-get install bash-completion)"))
    func bashCompletesGitAutoresearchThroughGitsOwnCompletion() throws {
        let scratch = try TempRepository()
        try Self.install(["bash"], at: "share/bash-completion/completions/git-autoresearch", in: scratch)
        try scratch.write("complete.sh", completeLinesScript)
        let completed = try runProgram("/bin/bash", [scratch.path + "/complete.sh"] + Self.typed, in: scratch.path,
                                       environment: ["XDG_DATA_DIRS": scratch.path + "/share", "PATH": Self.pathWithTheTool])
        #expect(completed.stdout.split(separator: "\n").map(String.init) == [
            "git autoresearch lo => loop log", "git autoresearch loop --max-r => --max-runs", "git -C /tmp autoresearch sh => show",
            "git-autoresearch lo => loop log", "git autoresearch show --no-p => --no-patch",
        ], "\(completed.stdout)\(completed.stderr)")
    }

    /// In a real fish, the scripts installed where `make install` puts them (fish's own git
    /// completion offers git-* commands by name; the vendor_conf.d hook completes their arguments).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/fish"), "fish is not installed (apt-get install fish)"))
    func fishCompletesGitAutoresearchToo() throws {
        let scratch = try TempRepository()
        try Self.install(["fish"], at: "share/fish/vendor_completions.d/git-autoresearch.fish", in: scratch)
        try Self.install(["fish", "--git-hook"], at: "share/fish/vendor_conf.d/git-autoresearch.fish", in: scratch)
        let script = Self.typed.map { "echo '\($0) =>' (complete -C '\($0)' | string replace -r '\\t.*' '')" }.joined(separator: "\n")
        let completed = try runProgram("/usr/bin/fish", ["-c", script], in: scratch.path,
                                       environment: ["XDG_DATA_DIRS": scratch.path + "/share:/usr/share", "HOME": scratch.path,
                                                     "XDG_CONFIG_HOME": scratch.path + "/config", "PATH": Self.pathWithTheTool])
        #expect(completed.stdout.split(separator: "\n").map(String.init) == [
            "git autoresearch lo => log loop", "git autoresearch loop --max-r => --max-runs", "git -C /tmp autoresearch sh => show",
            "git-autoresearch lo => log loop", "git autoresearch show --no-p => --no-patch",
        ], "\(completed.stdout)\(completed.stderr)")
    }

    /// zsh's own git completion uses `_git-autoresearch`, installed where `make install` puts it.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/zsh"), "zsh is not installed (apt-get install zsh)"))
    func zshCompletesGitAutoresearchToo() throws {
        let scratch = try TempRepository()
        try Self.install(["zsh"], at: "functions/_git-autoresearch", in: scratch)
        try scratch.write("complete.zsh", zshCompleteScript)
        // What shows on the screen once TAB was pressed after each typed line.
        let cases = zip(Self.typed, ["loop  -- Run", "--max-runs ", "autoresearch show ", "log   -- List", "--no-patch"])
        let completed = try runProgram("/usr/bin/zsh", ["-f", scratch.path + "/complete.zsh", scratch.path + "/functions"] + cases.flatMap { [$0.0, $0.1] },
                                       in: scratch.path, environment: ["PATH": Self.pathWithTheTool])
        #expect(completed.stdout.split(separator: "\n").map(String.init) == Self.typed.map { "\($0) => yes" }, "\(completed.stdout)\(completed.stderr)")
    }

    @Test func everyShellHasAScript() throws {
        let scratch = try TempRepository()
        for shell in ["zsh", "fish"] {
            let script = try Tool.run(["completion", shell], in: scratch)
            #expect(script.status == 0 && script.stdout.contains("autoresearch") && script.stdout.contains("max-runs"), "\(shell): \(script.stderr)")
        }
        #expect(try Tool.run(["completion", "tcsh"], in: scratch).status == 64)
    }
}
