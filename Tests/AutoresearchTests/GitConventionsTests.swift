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

@Suite struct GitEnvironmentTests {
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
