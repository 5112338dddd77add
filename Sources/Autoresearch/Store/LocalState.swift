import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// Local state of an experiment, kept under the git directory (never in the work tree). Per work
/// tree: `autoresearch/NAME/lock`, `autoresearch/NAME/iteration` (the unfinished-iteration
/// marker) and the agent's context files in `autoresearch/NAME/agent/`. Shared by all work trees
/// (in the main git directory, so logs outlive a worker's work tree):
/// `autoresearch/NAME/logs/RUN.log` (and `RUN.agent.log`) and `autoresearch/NAME/workers/`.
public struct LocalState {
    public let directory: String
    /// The experiment's directory in the main git directory.
    public let sharedDirectory: String

    public init(repository: Repository, experiment: String) {
        directory = repository.gitDirectory + "autoresearch/" + experiment
        sharedDirectory = repository.commonDirectory + "autoresearch/" + experiment
    }

    public var logsDirectory: String { sharedDirectory + "/logs" }
    /// Where parallel workers keep their work trees and state files.
    public var workersDirectory: String { sharedDirectory + "/workers" }

    /// Runs `body` holding an exclusive lock of this experiment shared by all work trees of the
    /// repository (`NAME.lock` in the shared directory), taken with `flock`, which the kernel
    /// releases if the process dies.
    func withSharedLock<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try FileManager.default.createDirectory(atPath: sharedDirectory, withIntermediateDirectories: true)
        return try withFileLock(sharedDirectory + "/\(name).lock", body)
    }
    public func logPath(run: String) -> String { logsDirectory + "/\(run).log" }
    public func agentLogPath(run: String) -> String { logsDirectory + "/\(run).agent.log" }
    /// Where the files handed to the agent live.
    public var agentDirectory: String { directory + "/agent" }
    var lockPath: String { directory + "/lock" }
    var markerPath: String { directory + "/iteration" }

    func prepare() throws {
        try FileManager.default.createDirectory(atPath: logsDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: agentDirectory, withIntermediateDirectories: true)
    }

    // MARK: lock

    /// The pid holding the experiment's lock, if it is alive (a zombie is not).
    public func lockHolder() -> pid_t? { PidLock(path: lockPath).holder }

    /// Takes the experiment's lock (an exclusive file holding our pid); a lock left by a dead
    /// process is taken over. Throws naming the holder when another live process has it.
    func acquireLock(experiment: String) throws {
        try prepare()
        if let holder = try PidLock(path: lockPath).tryAcquire() {
            throw AutoresearchError("experiment '\(experiment)' is busy: process \(holder) holds its lock (\(lockPath))",
                                    hint: "wait for it to finish, or stop it (kill \(holder)); a lock of a dead process is taken over automatically")
        }
    }

    func releaseLock() { PidLock(path: lockPath).release() }

    // MARK: unfinished-iteration marker

    /// What an iteration in progress wrote before its agent step or evaluation, so a killed run
    /// can be repaired.
    struct Marker: Codable {
        enum Phase: String, Codable {
            /// The agent is changing the work tree; `candidate` is the commit it started from.
            case agent
            /// `candidate` is committed, on the branch, and being evaluated.
            case evaluation
        }

        var phase: Phase
        var run: String
        var candidate: String
        var best: String?
        var branch: String
        var start: Date
        var description: String
        /// The process group of the agent or evaluator, once it started.
        var processGroup: Int32?
    }

    func writeMarker(_ marker: Marker) throws { try StateFile.write(marker, to: markerPath) }

    func readMarker() -> Marker? { StateFile.read(Marker.self, from: markerPath) }

    func removeMarker() { unlink(markerPath) }
}

/// The JSON files of local state (the marker, workers' states): written whole, then renamed into
/// place, so a reader sees the old or the new content; dates in milliseconds since 1970.
enum StateFile {
    static func read<T: Decodable>(_ type: T.Type, from path: String) -> T? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try? decoder.decode(type, from: data)
    }

    static func write<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        let partial = path + ".tmp"
        guard FileManager.default.createFile(atPath: partial, contents: try encoder.encode(value)), rename(partial, path) == 0 else {
            throw AutoresearchError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
