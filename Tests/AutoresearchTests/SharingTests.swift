import Autoresearch
import Foundation
import Testing
import Fixtures

/// How a test reaches its remote.
enum Transport: CaseIterable, Sendable {
    case bareRepositoryPath, gitDaemon
}

/// A bare repository reached by path or through `git daemon` on 127.0.0.1, while the value lives.
struct TestRemote {
    let bare: TempRepository
    let daemon: GitDaemon?
    var url: String { daemon?.url ?? bare.path }

    init(_ transport: Transport) throws {
        bare = try TempRepository(bare: true)
        daemon = transport == .gitDaemon ? try GitDaemon(serving: bare.path) : nil
    }
}

/// The record lines of experiment `s` in a repository, read with the git CLI, any fanout.
func ledgerLines(inRepositoryAt path: String) throws -> [String] {
    try ledgerLines(of: path).filter { $0.contains(" experiment=s ") }
}

func runIDs(_ lines: [String]) -> [String] {
    lines.compactMap { line in line.split(separator: " ").first { $0.hasPrefix("run=") }.map { String($0.dropFirst(4)) } }
}

@Suite(.ownThreads) struct SharingTests {
    /// A clone of `url` on the experiment branch, with the scripted agent.
    static func clone(_ url: String) throws -> TempRepository {
        let repo = try TempRepository(cloneOf: url)
        try repo.git(["switch", "-q", "autoresearch/s"])
        return repo
    }

    static let agent = "echo \"value $((10 - AUTORESEARCH_ITERATION * $1))\" > candidate.txt\n"

    func twoClonesShareEveryRecord(remoteURL: String, bare: String) throws {
        let first = try scenarioRepository()
        try first.git(["remote", "add", "origin", remoteURL])
        let agent = try first.agent(Self.agent)
        var expected: [String] = []
        func loop(_ repo: TempRepository, _ step: Int) throws {
            let result = try repo.loop(agent: "\(agent) \(step)") { $0.maxRuns = 3 }
            #expect(result.summary.stop == .maxRuns)
            expected += result.records.map(\.run)
        }
        try loop(first, 1)
        try first.push()

        let second = try Self.clone(remoteURL)
        _ = try second.agent(Self.agent)
        try second.pull()
        try loop(second, 7)
        try second.push()

        try loop(first, 3)  // diverges from what the second clone pushed
        let firstPush = try first.push()
        #expect(firstPush.skipped.map(\.branch) == ["autoresearch/s"], "not pushed: \(firstPush.skipped)")
        for repo in [first, second] { try repo.pull() }

        #expect(expected.count == 9)
        for path in [first.path, second.path, bare] {
            let ids = runIDs(try ledgerLines(inRepositoryAt: path))
            #expect(ids.count == Set(ids).count, "no record twice in \(path)")
            #expect(Set(ids) == Set(expected), "every record in \(path)")
        }

        // The end of a run's log travels with its record.
        let workspace = try first.workspace()
        let tail = try workspace.logTail(of: try workspace.run(named: expected[3]))
        #expect(tail.contains { $0.contains("training...") }, "\(tail)")

        // A third clone sees everything with the plain git CLI.
        let third = try TempRepository(cloneOf: remoteURL)
        try third.git(["fetch", "-q", "origin", "refs/notes/*:refs/notes/*", "refs/autoresearch/*:refs/autoresearch/*"])
        let log = try third.git(["log", "--notes=autoresearch", "--format=%N", "--all"])
        for id in expected { #expect(log.contains("run=\(id) "), "run \(id) in a plain git log") }
        for repo in [first, second, third] { try repo.fsck() }
    }

    @Test(arguments: Transport.allCases)
    func twoClonesShareEveryRecord(through transport: Transport) throws {
        let remote = try TestRemote(transport)
        try twoClonesShareEveryRecord(remoteURL: remote.url, bare: remote.bare.path)
    }

    @Test(arguments: Transport.allCases)
    func fourMachinesPushingAtOnceLoseNoRecord(through transport: Transport) throws {
        let remote = try TestRemote(transport)
        try fourMachinesPushAtOnce(remoteURL: remote.url, bare: remote.bare.path)
    }

    func fourMachinesPushAtOnce(remoteURL: String, bare: String) throws {
        let origin = try scenarioRepository()
        try origin.git(["remote", "add", "origin", remoteURL])
        try origin.push()

        let clones = try (0..<4).map { _ in try Self.clone(remoteURL) }
        let script = """
        for i in 1 2 3 4; do
          echo "value $1$i" > candidate.txt
          "$0" run -q -m "machine $1 change $i"
          "$0" push > /dev/null || exit 1
        done
        """
        // Four processes of the binary: the races are between processes.
        let processes = try clones.enumerated().map { index, repo in
            try ChildProcess("/bin/sh", ["-c", script, Tool.path, String(index + 1)], in: repo.path)
        }
        for process in processes {
            let output = process.output()
            #expect(output.status == 0, "\(output.stderr)")
        }

        let ids = runIDs(try ledgerLines(inRepositoryAt: bare))
        #expect(ids.count == 16, "4 machines × 4 runs")
        #expect(Set(ids).count == 16)
        for repo in clones {
            try repo.pull()
            #expect(Set(runIDs(try ledgerLines(inRepositoryAt: repo.path))) == Set(ids))
        }
        let fsck = try runProgram("/usr/bin/git", ["fsck", "--strict"], in: bare)
        #expect(fsck.status == 0)
    }

    @Test func anUnknownRemoteIsAClearError() throws {
        let repo = try scenarioRepository()
        let error = failure { try repo.push(to: "upstream") }
        #expect(error.contains("no remote named 'upstream'"), "\(error)")
        #expect(error.contains("git remote add upstream URL"), "\(error)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "needs python3 for the HTTP server"))
    func refusedCredentialsGiveAClearErrorAfterFewAttempts() throws {
        let repo = try scenarioRepository()
        // An HTTP server that answers every request with 401, whatever the credentials.
        let server = """
        import http.server, sys
        class Refuse(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(401); self.send_header("WWW-Authenticate", 'Basic realm="x"'); self.send_header("Content-Length", "0"); self.end_headers()
            do_POST = do_GET
            def log_message(self, *args): pass
        s = http.server.HTTPServer(("127.0.0.1", 0), Refuse)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """
        try server.write(toFile: repo.path + "/.git/server.py", atomically: true, encoding: .utf8)
        let process = try ChildProcess("/usr/bin/python3", [repo.path + "/.git/server.py"], in: repo.path)
        defer { kill(process.pid, SIGKILL); _ = process.wait() }
        var port = ""
        #expect(waitUntil(seconds: 10) {
            port = process.currentOutput().trimmingCharacters(in: .whitespacesAndNewlines)
            return !port.isEmpty
        })
        try repo.git(["remote", "add", "origin", "http://127.0.0.1:\(port)/repo.git"])
        try repo.git(["config", "credential.helper", "!f() { echo $1 >> '\(repo.path)/.git/helper-calls'; echo username=u; echo password=p; }; f"])
        let started = Date()
        let error = failure { _ = try repo.push() }
        #expect(error.contains("authentication failed for origin"), "\(error)")
        #expect(error.contains("hint: ") && error.contains("credential.helper"), "\(error)")
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(repo.read(".git/helper-calls") == "get\nerase\n", "the helper is asked once, not forever, and forgets the refused credential")
    }
}
