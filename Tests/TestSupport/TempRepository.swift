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

/// Runs a program to completion and captures its output (for git and the tool's binary in tests).
@discardableResult
public func runProgram(_ executable: String, _ arguments: [String], in directory: String,
                       environment: [String: String] = [:]) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: scratch.path + ".1", contents: nil)
    _ = FileManager.default.createFile(atPath: scratch.path + ".2", contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: scratch.path + ".1")
        try? FileManager.default.removeItem(atPath: scratch.path + ".2")
    }
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.path + ".1"))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.path + ".2"))
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let out = (try? String(contentsOfFile: scratch.path + ".1", encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: scratch.path + ".2", encoding: .utf8)) ?? ""
    return ProcessOutput(status: process.terminationStatus, stdout: out, stderr: err)
}

/// A failure of the git CLI oracle.
public struct OracleError: Error, CustomStringConvertible {
    public let description: String
}

/// A throwaway repository made and inspected with the real `git` CLI; removed when released.
public final class TempRepository {
    /// The work tree, without trailing slash.
    public let path: String

    /// Creates an empty directory and runs `git init` in it (branch `main`, a fixed identity).
    public init(bare: Bool = false) throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/autoresearch-test-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw OracleError(description: "mkdtemp failed") }
        path = String(cString: made)
        try git(bare ? ["init", "-q", "--bare", "-b", "main"] : ["init", "-q", "-b", "main"])
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

/// True when a process with this pid exists (zombies included).
public func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }
