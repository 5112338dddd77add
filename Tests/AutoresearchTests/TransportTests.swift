import Autoresearch
import Foundation
import Git
import Testing
import Fixtures

/// ssh through the system's OpenSSH client against a real sshd, and http(s) credentials through
/// git's credential protocol against a real `git http-backend` with basic authentication.
/// Serialized: the ssh tests look for ssh processes left behind.
@Suite(.ownThreads, .serialized) struct TransportTests {
    /// A scenario repository with two runs of experiment `s`; returns it and the runs' ids.
    static func repositoryWithRuns() throws -> (TempRepository, [String]) {
        let repo = try scenarioRepository()
        let result = try repo.loop(agent: "\(try repo.agent(SharingTests.agent)) 1") { $0.maxRuns = 2 }
        return (repo, result.records.map(\.run))
    }

    /// This process's children that run `ssh`, zombies included.
    static func sshChildren() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard Int(entry) != nil, let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.range(of: ") ", options: .backwards) else { return false }
            let fields = stat[close.upperBound...].split(separator: " ")
            return stat.contains("(ssh)") && fields.count > 1 && Int32(fields[1]) == getpid()
        }
    }

    // MARK: ssh

    @Test(.enabled(if: SSHServer.isAvailable, "needs openssh-server (apt-get install openssh-server)"))
    func pushAndPullThroughAnSshHostAlias() throws {
        let server = try SSHServer()
        let bare = try TempRepository(bare: true)
        let (first, runs) = try Self.repositoryWithRuns()
        // The alias exists only in the client configuration, as in ~/.ssh/config. The command
        // notes the descriptors ssh gets: none the tool holds.
        let descriptors = first.path + "/.git/ssh-descriptors"
        try first.git(["config", "core.sshCommand", "ls -l /proc/$$/fd > '\(descriptors)'; \(server.sshCommand)"])
        try first.git(["remote", "add", "origin", "\(server.alias):\(bare.path)"])
        let held = open(bare.path + "/HEAD", O_RDONLY)  // inheritable, as a lock file's might be
        defer { close(held) }
        let pushed = try first.push()
        let inherited = first.read(".git/ssh-descriptors") ?? ""
        #expect(inherited.contains(" 0 -> ") && !inherited.contains(bare.path + "/HEAD"), "\(inherited)")
        #expect(pushed.pushed.contains("refs/heads/autoresearch/s"), "\(pushed.pushed)")
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: bare.path))) == Set(runs))
        #expect(try bare.gitLine("rev-parse", "autoresearch/s") == (try first.gitLine("rev-parse", "autoresearch/s")))

        // A URL in place of a remote name, in the ssh:// form, through the same alias.
        let second = try TempRepository(cloneOf: bare.path)
        try second.git(["config", "core.sshCommand", server.sshCommand])
        let url = "ssh://\(server.alias)\(bare.path)"
        let pulled = try second.pull(from: url)
        #expect(pulled.remoteBranches == ["s"], "\(pulled.remoteBranches)")
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: second.path))) == Set(runs))
        #expect(try second.git(["for-each-ref", "--format=%(refname)", "refs/remotes/"]).contains("/autoresearch/s"))
        for repo in [first, second, bare] { try repo.fsck() }
        #expect(Self.sshChildren().isEmpty, "ssh reaped: \(Self.sshChildren())")
    }

    @Test(.enabled(if: SSHServer.isAvailable, "needs openssh-server (apt-get install openssh-server)"))
    func sshFailuresShowSshsMessageAndLeaveNoProcess() throws {
        let server = try SSHServer()
        let (repo, _) = try Self.repositoryWithRuns()
        try repo.git(["config", "core.sshCommand", server.sshCommand])
        let missing = failure { _ = try repo.push(to: "\(server.alias):/no/such/repository.git") }
        #expect(missing.contains("does not appear to be a git repository"), "\(missing)")
        #expect(missing.contains("\(server.alias):/no/such/repository.git"), "names the remote: \(missing)")

        let unknownHost = failure { _ = try repo.pull(from: "no-such-host.invalid:repository.git") }
        #expect(unknownHost.contains("ssh: "), "ssh's own message: \(unknownHost)")

        let denied = failure { _ = try repo.pull(from: "no-such-user@\(server.alias):\(repo.path)") }
        #expect(denied.contains("authentication failed for no-such-user@\(server.alias):"), "\(denied)")
        #expect(denied.contains("Permission denied"), "ssh's reason: \(denied)")

        // The path is quoted for the remote shell: nothing in it runs there.
        let marker = repo.path + "/.git/injected"
        let injected = failure { _ = try repo.push(to: "\(server.alias):/nowhere'; touch \(marker); '") }
        #expect(!injected.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(Self.sshChildren().isEmpty, "ssh reaped: \(Self.sshChildren())")
    }

    @Test(.enabled(if: SSHServer.isAvailable, "needs openssh-server (apt-get install openssh-server)"))
    func theBinaryHonoursGitSshCommandAndProxyJump() throws {
        let server = try SSHServer()
        let bare = try TempRepository(bare: true)
        let (repo, runs) = try Self.repositoryWithRuns()
        let environment = ["GIT_SSH_COMMAND": server.sshCommand]
        let pushed = try Tool.run(["push", "\(server.alias):\(bare.path)"], in: repo, environment: environment)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: bare.path))) == Set(runs))

        let other = try TempRepository(cloneOf: bare.path)
        let before = server.acceptedLogins
        let pulled = try Tool.run(["pull", "\(server.jumpAlias):\(bare.path)"], in: other, environment: environment)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(server.acceptedLogins - before == 2, "one connection, through the jump host")
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: other.path))) == Set(runs))
    }

    @Test func sshCommandLinesAreGits() throws {
        #expect(try SshCommand.arguments(url: "gitbox:repo.git", service: "git-upload-pack", sshCommand: nil)
            == ["ssh", "gitbox", "git-upload-pack 'repo.git'"] || ProcessInfo.processInfo.environment["GIT_SSH"] != nil)
        #expect(try SshCommand.arguments(url: "ssh://me@host:2222/~/r.git", service: "git-receive-pack", sshCommand: "ssh -F c")
            == ["/bin/sh", "-c", "ssh -F c \"$@\"", "ssh -F c", "-p", "2222", "me@host", "git-receive-pack '~/r.git'"])
        #expect(try SshCommand.arguments(url: "ssh://[::1]:22/srv/r", service: "git-upload-pack", sshCommand: "ssh").suffix(4)
            == ["-p", "22", "::1", "git-upload-pack '/srv/r'"])
        #expect(try SshCommand.arguments(url: "host:it's $(x)!", service: "git-upload-pack", sshCommand: "ssh").last
            == "git-upload-pack 'it'\\''s $(x)'\\!''")
        for url in ["-oProxyCommand=touch_x:repo", "ssh://-oProxyCommand=x/repo", "host:-repo", "https://host/repo"] {
            #expect(throws: GitError.self, "\(url)") { try SshCommand.arguments(url: url, service: "git-upload-pack", sshCommand: nil) }
        }
    }

    // MARK: URLs

    @Test func aURLOrAPathWorksWhereARemoteNameDoes() throws {
        let bare = try TempRepository(bare: true)
        let (repo, runs) = try Self.repositoryWithRuns()
        _ = try repo.push(to: bare.path)
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: bare.path))) == Set(runs))

        let other = try SharingTests.clone(bare.path)
        let url = "file://" + bare.path
        let synced = try other.loop(agent: "\(try other.agent(SharingTests.agent)) 2") {
            $0.maxRuns = 1
            $0.sync = url
        }
        #expect(synced.records.count == 1)
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: bare.path))) == Set(runs + synced.records.map(\.run)),
                "the loop pushed its run to the URL")
        let tracking = try other.git(["for-each-ref", "--format=%(refname)", "refs/notes/remotes/"])
        #expect(tracking.contains("refs/notes/remotes/url-"), "\(tracking)")

        let error = failure { _ = try repo.push(to: "upstream") }
        #expect(error.contains("no remote named 'upstream'") && error.contains("or give a URL"), "\(error)")
    }

    // MARK: http credentials

    /// A bare repository served over http with basic authentication as alice/secret, and a
    /// repository with runs whose credential helper logs its calls and answers what `answer` holds.
    struct HTTPSetup {
        let served: TempRepository
        let server: HTTPGitServer
        let repo: TempRepository
        let runs: [String]
        var remotePath: String { served.path + "/remote.git" }
        var url: String { server.url + "remote.git" }
        var calls: String { repo.read(".git/helper-calls") ?? "" }

        init() throws {
            served = try TempRepository(bare: true)
            try runProgram("/usr/bin/git", ["init", "-q", "--bare", "-b", "main", served.path + "/remote.git"], in: served.path)
            server = try HTTPGitServer(serving: served.path, username: "alice", password: "secret")
            (repo, runs) = try TransportTests.repositoryWithRuns()
            try repo.write(".git/helper.sh", """
            #!/bin/sh
            echo "$1" >> '\(repo.path)/.git/helper-calls'
            [ -z "$AUTORESEARCH_CREDENTIAL_INPUT" ] || echo "inherited the input" >> '\(repo.path)/.git/helper-calls'
            cat >> '\(repo.path)/.git/helper-input'
            [ "$1" = get ] && cat '\(repo.path)/.git/answer'
            exit 0
            """, executable: true)
            try repo.git(["config", "--add", "credential.helper", repo.path + "/.git/helper.sh"])
            try repo.git(["config", "--add", "credential.http://elsewhere.invalid.helper", "!echo other >> '\(repo.path)/.git/helper-calls'; :"])
            // Helpers for this server only: asked after the general one.
            try repo.git(["config", "--add", "credential.\(server.url).helper", "!f() { echo matched-$1 >> '\(repo.path)/.git/helper-calls'; cat > /dev/null; }; f"])
            try repo.git(["remote", "add", "origin", url])
        }

        func answer(_ password: String) throws {
            try repo.write(".git/answer", "username=alice\npassword=\(password)\n")
            try? FileManager.default.removeItem(atPath: repo.path + "/.git/helper-calls")
        }
    }

    @Test(.enabled(if: HTTPGitServer.isAvailable, "needs python3 and git http-backend"))
    func httpCredentialsAreFilledOnceStoredOnSuccessAndErasedOnRejection() throws {
        let setup = try HTTPSetup()
        try setup.answer("secret")
        _ = try setup.repo.push()
        #expect(setup.calls == "get\nstore\nmatched-store\n", "one get for the fetch and both pushes (the first helper answered), then store to each")
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: setup.remotePath))) == Set(setup.runs))
        let input = setup.repo.read(".git/helper-input") ?? ""
        #expect(input.contains("protocol=http\nhost=127.0.0.1:"), "\(input)")
        #expect(input.contains("username=alice\npassword=secret\n"), "store gets the credential: \(input)")

        try setup.answer("wrong")
        let error = failure { _ = try setup.repo.push() }
        #expect(error.contains("authentication failed for origin"), "\(error)")
        #expect(error.contains("refused"), "the cause: \(error)")
        #expect(!error.contains("followRedirects"), "\(error)")
        #expect(setup.calls == "get\nerase\nmatched-erase\n")

        // A URL in place of the remote's name.
        try setup.answer("secret")
        let pulled = try setup.repo.pull(from: setup.url)
        #expect(pulled.remoteBranches == ["s"])
        #expect(setup.calls == "get\nstore\nmatched-store\n")
    }

    @Test(.enabled(if: HTTPGitServer.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/script"),
                   "needs python3, git http-backend and script (util-linux) for a terminal"))
    func withoutAHelperTheTerminalIsAskedAndNeverWithoutOne() throws {
        let setup = try HTTPSetup()
        try setup.repo.git(["config", "--unset-all", "credential.helper"])
        // No terminal allowed: a clear failure, no question.
        let refused = try Tool.run(["push"], in: setup.repo, environment: ["GIT_TERMINAL_PROMPT": "0"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("authentication failed for origin"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("Username for"))

        // On a terminal (script(1) gives the tool one), git's questions.
        let command = "printf 'alice\\nsecret\\n' | script -qec '\(Tool.path) push' /dev/null"
        let asked = try runProgram("/bin/sh", ["-c", command], in: setup.repo.path)
        #expect(asked.stdout.contains("Username for 'http://127.0.0.1:"), "\(asked.stdout)")
        #expect(asked.stdout.contains("Password for 'http://alice@127.0.0.1:"), "\(asked.stdout)")
        #expect(asked.status == 0, "\(asked.stdout)\(asked.stderr)")
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: setup.remotePath))) == Set(setup.runs))
    }

    /// Without a helper's answer, the program of `GIT_ASKPASS` (else `core.askPass`) is asked
    /// git's questions, before any terminal.
    @Test(.enabled(if: HTTPGitServer.isAvailable, "needs python3 and git http-backend"))
    func anAskpassProgramAnswersGitsQuestions() throws {
        let setup = try HTTPSetup()
        try setup.repo.git(["config", "--unset-all", "credential.helper"])
        let asked = setup.repo.path + "/.git/askpass-questions"
        try setup.repo.write(".git/askpass.sh", """
            #!/bin/sh
            echo "$1" >> '\(asked)'
            case "$1" in Username*) echo alice ;; Password*) echo secret ;; *) exit 1 ;; esac
            """, executable: true)
        let pushed = try Tool.run(["push"], in: setup.repo, environment: ["GIT_ASKPASS": setup.repo.path + "/.git/askpass.sh",
                                                                          "GIT_TERMINAL_PROMPT": "0"])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let questions = (setup.repo.read(".git/askpass-questions") ?? "").split(separator: "\n")
        #expect(questions.count == 2, "asked once for the command: \(questions)")
        #expect(questions.first?.hasPrefix("Username for 'http://127.0.0.1:") == true, "\(questions)")
        #expect(questions.last?.hasPrefix("Password for 'http://alice@127.0.0.1:") == true, "\(questions)")
        #expect(Set(runIDs(try ledgerLines(inRepositoryAt: setup.remotePath))) == Set(setup.runs))

        // core.askPass, and a program that fails: a clear authentication error.
        try setup.repo.git(["config", "core.askPass", "/bin/false"])
        let refused = try Tool.run(["pull"], in: setup.repo, environment: ["GIT_TERMINAL_PROMPT": "0"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("authentication failed for origin"), "\(refused.stderr)")
    }
}
