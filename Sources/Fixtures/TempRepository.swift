import CProcessSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished child process printed.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// A child process started with posix_spawn (not Foundation.Process, whose wait hangs while a
/// grandchild holds an inherited descriptor). Its output goes to files.
public final class ChildProcess {
    public let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    private var status: Int32?

    /// Starts `executable` with `arguments` in `directory`, with `environment` added to ours.
    public init(_ executable: String, _ arguments: [String], in directory: String, environment: [String: String] = [:]) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)").path
        stdoutPath = scratch + ".out"
        stderrPath = scratch + ".err"
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        // sh changes directory, then execs the program: posix_spawn has no portable chdir.
        let argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory, executable] + arguments
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgv + cEnv).forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // No other descriptor of the test process: another test's file open for writing at this
        // moment (Foundation opens without close-on-exec) would stay open in a child that lives
        // on (a git daemon, a hung evaluator), and executing that file fails with ETXTBSY.
        cps_spawn_actions_close_from(&actions, 3)
        // Default dispositions and an empty mask: the test runner's threads may block signals.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let result = posix_spawn(&child, "/bin/sh", &actions, &attributes, cArgv, cEnv)
        guard result == 0 else { throw OracleError(description: "cannot start \(executable): \(String(cString: strerror(result)))") }
        pid = child
    }

    deinit {
        try? FileManager.default.removeItem(atPath: stdoutPath)
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    /// Waits for the process; returns its exit status, or 128 + the signal that killed it.
    @discardableResult
    public func wait() -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let signal = raw & 0x7f
        let result = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        status = result
        return result
    }

    /// What the process printed on standard output so far, without waiting.
    public func currentOutput() -> String {
        (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
    }

    /// Waits, then returns the status and what the process printed.
    public func output() -> ProcessOutput {
        let code = wait()
        return ProcessOutput(status: code,
                             stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
    }
}

/// Runs a program to completion and captures its output (for git and the tool's binary in tests).
@discardableResult
public func runProgram(_ executable: String, _ arguments: [String], in directory: String,
                       environment: [String: String] = [:]) throws -> ProcessOutput {
    try ChildProcess(executable, arguments, in: directory, environment: environment).output()
}

/// A failure of the git CLI oracle.
public struct OracleError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}

/// A throwaway directory under the temporary directory (`PREFIX-UUID`: a test's files, a job's
/// node-local scratch), removed with everything in it when released: hold it for as long as its
/// path is used.
public final class ScratchDirectory {
    public let path: String

    public init(prefix: String = "autoresearch-scratch") {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A throwaway repository made and inspected with the real `git` CLI; removed when released.
public final class TempRepository {
    /// The work tree, without trailing slash.
    public let path: String

    /// Creates an empty directory and runs `git init` in it (branch `main`, a fixed identity).
    public convenience init(bare: Bool = false) throws {
        try self.init(bare ? ["init", "-q", "--bare", "-b", "main"] : ["init", "-q", "-b", "main"])
    }

    /// Clones `url` with `git clone` (the remote's HEAD may point nowhere: no checkout then);
    /// `depth` makes a shallow clone of that many commits (it needs a `file://` URL).
    public convenience init(cloneOf url: String, depth: Int? = nil) throws {
        try self.init(["clone", "-q"] + (depth.map { ["--depth", String($0)] } ?? []) + [url, "."])
    }

    /// Takes a path where the tool makes a repository (absent until then), removed when released.
    public init(adopting path: String) {
        self.path = path
    }

    private init(_ creation: [String]) throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/autoresearch-test-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw OracleError(description: "mkdtemp failed") }
        path = String(cString: made)
        try git(creation)
        try git(["config", "user.name", "Test"])
        try git(["config", "user.email", "test@example.com"])
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Runs `git ARGS` in the repository; throws with git's stderr when it fails.
    @discardableResult
    public func git(_ arguments: [String]) throws -> String {
        let output = try runProgram("/usr/bin/git", arguments, in: path)
        guard output.status == 0 else {
            throw OracleError(description: "git \(arguments.joined(separator: " ")) failed (\(output.status)): \(output.stderr)")
        }
        return output.stdout
    }

    /// `git ARGS` with whitespace trimmed.
    public func gitLine(_ arguments: String...) throws -> String {
        try git(arguments).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes a file (directories created) relative to the work tree.
    public func write(_ relativePath: String, _ content: String, executable: Bool = false) throws {
        let full = path + "/" + relativePath
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try content.write(toFile: full, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: full) }
    }

    /// Reads a file relative to the work tree; nil when missing.
    public func read(_ relativePath: String) -> String? {
        try? String(contentsOfFile: path + "/" + relativePath, encoding: .utf8)
    }

    /// Waits up to `seconds` for a file (relative to the work tree) to hold a pid, as a child
    /// writes it with `echo $$ > FILE`: the file exists a moment before its content does.
    public func waitForPid(_ relativePath: String, seconds: Double = 30) -> Int32? {
        var pid: Int32?
        _ = waitUntil(seconds: seconds) {
            pid = read(relativePath).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return pid != nil
        }
        return pid
    }

    public func exists(_ relativePath: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/" + relativePath)
    }

    /// Writes files and commits them all with the git CLI; returns the new commit id.
    @discardableResult
    public func commitFiles(_ files: [String: String], message: String = "commit") throws -> String {
        for (name, content) in files { try write(name, content) }
        try git(["add", "-A"])
        try git(["commit", "-q", "-m", message])
        return try gitLine("rev-parse", "HEAD")
    }

    /// Sets the modification time of a file (relative to the work tree) to `seconds` from the
    /// index's (negative: before), a `touch` that leaves no doubt whatever the clock's granularity.
    public func setModificationTime(of relativePath: String, secondsFromIndex seconds: Int) throws {
        var index = stat()
        guard stat(path + "/.git/index", &index) == 0 else { throw OracleError(description: "no index in \(path)") }
        let output = try runProgram("/usr/bin/touch", ["-d", "@\(index.st_mtim.tv_sec + seconds)", relativePath], in: path)
        guard output.status == 0 else { throw OracleError(description: "touch \(relativePath): \(output.stderr)") }
    }

    /// `git fsck --strict`, throwing with its output when it reports anything.
    public func fsck() throws {
        let output = try runProgram("/usr/bin/git", ["fsck", "--strict", "--no-progress"], in: path)
        guard output.status == 0, !output.stdout.contains("error"), !output.stderr.contains("error") else {
            throw OracleError(description: "git fsck --strict: \(output.stdout)\(output.stderr)")
        }
    }
}

/// The package root (two levels above this file's directory).
public let packageRoot: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}()

/// True when a live process has this pid (a zombie waiting to be reaped is not alive).
public func processExists(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(after: close)...].split(separator: " ").first
    return state != "Z" && state != "X"
}
