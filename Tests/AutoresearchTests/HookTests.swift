import Foundation
import Testing
import Fixtures

/// `git ARGS` with the tool's directory first on PATH, as after `make install`.
func gitWithTool(_ repo: TempRepository, _ arguments: [String], in directory: String? = nil,
                 environment: [String: String] = [:]) throws -> ProcessOutput {
    var environment = environment
    environment["PATH"] = (Tool.path as NSString).deletingLastPathComponent + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    return try runProgram("/usr/bin/git", arguments, in: directory ?? repo.path, environment: environment)
}

@Suite(.ownThreads) struct HookTests {
    /// A scenario repository with its baseline measured and the hook installed.
    static func repositoryWithHook() throws -> TempRepository {
        let repo = try scenarioRepository()
        try repo.runIteration()
        let installed = try Tool.run(["install-hooks"], in: repo)
        #expect(installed.status == 0, "\(installed.stderr)")
        return repo
    }

    @Test func theShippedHookIsTheOneInstalled() throws {
        let repo = try Self.repositoryWithHook()
        let shipped = try String(contentsOfFile: packageRoot + "/hooks/pre-commit", encoding: .utf8)
        #expect(repo.read(".git/hooks/pre-commit") == shipped)
        #expect(FileManager.default.isExecutableFile(atPath: repo.path + "/.git/hooks/pre-commit"))
    }

    @Test func aCommitChangingAGuardedFileIsRefusedAnotherFileIsAccepted() throws {
        let repo = try Self.repositoryWithHook()
        try repo.write("eval.sh", "echo 'score: 0.001'\n")
        try repo.write("candidate.txt", "value 3\n")
        let refused = try gitWithTool(repo, ["commit", "-qam", "better evaluator"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("changes guarded paths of experiment 's': eval.sh"))
        #expect(refused.stderr.contains("AUTORESEARCH_ALLOW_GUARDED=1"))

        try repo.git(["checkout", "--", "eval.sh"])
        let accepted = try gitWithTool(repo, ["commit", "-qam", "value 3"])
        #expect(accepted.status == 0, "\(accepted.stderr)")

        // On purpose, with the override: accepted and logged.
        try repo.write("eval.sh", "read kind arg < candidate.txt; echo \"score: $arg\"\n")
        let overridden = try gitWithTool(repo, ["commit", "-qam", "evaluator v2"], environment: ["AUTORESEARCH_ALLOW_GUARDED": "1"])
        #expect(overridden.status == 0, "\(overridden.stderr)")
        #expect(overridden.stderr.contains("changed on purpose"))
        #expect(repo.read(".git/autoresearch/guard-overrides.log")?.contains("experiment=s") == true)

        // Other branches are not checked.
        try repo.git(["switch", "-q", "-c", "scratch"])
        try repo.write("eval.sh", "echo anything\n")
        #expect(try gitWithTool(repo, ["commit", "-qam", "elsewhere"]).status == 0)
    }

    /// An agent that commits in a parallel worker's work tree meets the same hook.
    @Test func aCommitOnAWorkerBranchIsGuardedToo() throws {
        let repo = try Self.repositoryWithHook()
        let worktree = repo.path + "/.git/autoresearch/s/workers/0"
        try repo.git(["worktree", "add", "-q", "-b", "autoresearch-workers/s/0", worktree, "autoresearch/s"])
        try "echo 'score: 0.001'\n".write(toFile: worktree + "/eval.sh", atomically: true, encoding: .utf8)
        let refused = try gitWithTool(repo, ["commit", "-qam", "better evaluator"], in: worktree)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("changes guarded paths of experiment 's': eval.sh"), "\(refused.stderr)")
    }

    @Test func anExistingHookStillRunsFirst() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        try "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/previous-hook-ran\"\n[ ! -f block ] || { echo 'previous hook says no' >&2; exit 3; }\n"
            .write(toFile: repo.path + "/.git/hooks/pre-commit", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: repo.path + "/.git/hooks/pre-commit")
        let installed = try Tool.run(["install-hooks"], in: repo)
        #expect(installed.stdout.contains("pre-commit.before-autoresearch"))

        try repo.write("candidate.txt", "value 4\n")
        let four = try gitWithTool(repo, ["commit", "-qam", "four"])
        #expect(four.status == 0, "\(four.stderr)")
        #expect(repo.read(".git/previous-hook-ran") == "ran\n")
        try repo.write("block", "x\n")
        try repo.write("candidate.txt", "value 2\n")
        let blocked = try gitWithTool(repo, ["commit", "-qam", "blocked"])
        #expect(blocked.status != 0 && blocked.stderr.contains("previous hook says no"), "\(blocked.stderr)")
        #expect(repo.read(".git/previous-hook-ran") == "ran\nran\n")

        // Installing again updates ours and leaves the chained one alone.
        #expect(try Tool.run(["install-hooks"], in: repo).stdout.contains("Updated"))
        #expect(repo.read(".git/hooks/pre-commit.before-autoresearch")?.contains("previous-hook-ran") == true)
    }

    @Test func coreHooksPathIsHonoured() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        try repo.git(["config", "core.hooksPath", ".githooks"])
        let installed = try Tool.run(["install-hooks"], in: repo)
        #expect(installed.stdout.contains(repo.path + "/.githooks/pre-commit"), "\(installed.stdout)")
        try repo.write("eval.sh", "echo 'score: 0'\n")
        let refused = try gitWithTool(repo, ["commit", "-qm", "x", "--", "eval.sh"])
        #expect(refused.status != 0 && refused.stderr.contains("eval.sh"))
    }
}
