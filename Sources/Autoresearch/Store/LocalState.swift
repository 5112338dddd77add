import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// Every file the tool keeps under the git directory (never in the work tree), and every lock.
///
/// Per work tree (`.git/autoresearch/NAME/` in that work tree's git directory): `lock`,
/// `iteration` (the unfinished-iteration marker) and the agent's context files in `agent/`.
/// Shared by all work trees (in the main git directory, so logs outlive a worker's work tree):
/// `logs/RUN.log` (and `RUN.agent.log`), `base-branch`, `workers/` (work trees, `I.json` states, `runs-left`),
/// the `best.lock` and `sync.lock`. For the whole repository: `config-cache/`, `ledger-index` (with its summary and lock),
/// `guard-overrides.log`, credential helpers' temporary output, and per work tree `tool-outputs`. Every lock is a `FileLock`.
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
    /// The work tree of parallel worker `index`.
    func workerDirectory(_ index: Int) -> String { workersDirectory + "/\(index)" }
    /// The state file of parallel worker `index`.
    func workerStatePath(_ index: Int) -> String { workersDirectory + "/\(index).json" }
    /// The options of parallel worker `index`, which its process reads (`loop --worker-options`).
    func workerOptionsPath(_ index: Int) -> String { workersDirectory + "/\(index).options" }
    /// The runs parallel workers may still start.
    var runTicketsPath: String { workersDirectory + "/runs-left" }

    /// Runs `body` holding an exclusive lock of this experiment shared by all work trees of the
    /// repository (`NAME.lock` in the shared directory).
    func withSharedLock<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try FileManager.default.createDirectory(atPath: sharedDirectory, withIntermediateDirectories: true)
        return try FileLock.withLock(sharedDirectory + "/\(name).lock", body)
    }
    public func logPath(run: String) -> String { logsDirectory + "/\(run).log" }
    /// The branch `init` created the experiment from, the one its hints name.
    var baseBranchPath: String { sharedDirectory + "/base-branch" }
    public func agentLogPath(run: String) -> String { logsDirectory + "/\(run).agent.log" }
    /// Where the files handed to the agent live.
    public var agentDirectory: String { directory + "/agent" }
    var lockPath: String { directory + "/lock" }
    var markerPath: String { directory + "/iteration" }
    /// Held while the tool writes this work tree's index (see `IndexWrites.swift`).
    var indexWriteLockPath: String { directory + "/index-write.lock" }
    /// Present while the tool writes this work tree's index.
    var indexWritePath: String { directory + "/index-write" }
    /// What the last run knew of this work tree's index (`Repository.indexMatch`): "CHECKSUM TREE".
    var indexMatchPath: String { directory + "/index-match" }
    /// Where `loop --jobs` notes the commit it detached this work tree's HEAD at, while workers run.
    var detachedHeadPath: String { directory + "/detached-head" }

    func prepare() throws {
        for directory in [logsDirectory, agentDirectory] where access(directory, F_OK) != 0 {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    // MARK: repository-wide files

    /// Where `.autoresearch` blobs are copied for libgit2, which parses config files only from disk.
    static func configCacheDirectory(_ repository: Repository) -> String { repository.commonDirectory + "autoresearch/config-cache" }
    /// The files the tool wrote into this work tree (`report -o`, `export -o`, restored artifacts),
    /// one `BLOB-ID PATH` a line, so no run takes them for a change.
    /// The lock every writer of the tool's references holds (`StaleLocks.withReferenceLock`).
    static func referenceLockPath(_ repository: Repository) -> String { repository.commonDirectory + "autoresearch/refs.lock" }
    static func toolOutputsPath(_ repository: Repository) -> String { repository.gitDirectory + "autoresearch/tool-outputs" }
    /// The ledger index, a cache of every record in the notes (`LedgerIndex`).
    static func ledgerIndexPath(_ repository: Repository) -> String { repository.commonDirectory + "autoresearch/ledger-index" }
    /// The ledger index's summary: what the index holds, and each experiment's aggregates (`LedgerSummary`).
    static func ledgerSummaryPath(_ repository: Repository) -> String { repository.commonDirectory + "autoresearch/ledger-index-summary" }
    /// The lock under which the ledger index is brought up to date.
    static func ledgerIndexLockPath(_ repository: Repository) -> String { repository.commonDirectory + "autoresearch/ledger-index.lock" }
    /// Where guarded changes let through with the override variable are noted.
    static func guardOverridesLog(_ repository: Repository) -> String { repository.gitDirectory + "autoresearch/guard-overrides.log" }
    /// Where a credential helper's answer is read from, for this process.
    static func credentialOutput(_ repository: Repository) -> String { repository.gitDirectory + "autoresearch/credential-\(getpid()).out" }
    /// The lock pushers take in a repository on the file system that they push to.
    static func pushLock(inGitDirectory gitDirectory: String) -> String { gitDirectory + "/autoresearch-push.lock" }

    // MARK: lock

    /// The pid holding the experiment's lock in this work tree, if any.
    public func lockHolder() -> pid_t? { FileLock.holder(of: lockPath) }

    /// Takes the experiment's lock in this work tree (released by the kernel if the process dies).
    /// Throws naming the holder when another live process has it.
    func lock(experiment: String) throws -> FileLock {
        try prepare()
        // The lock can look taken for a moment while no run has it: a child this process is
        // starting holds a copy of the descriptor until its exec closes it, and another process's
        // `lockHolder` check holds a shared lock while it reads the file. Only a holder that wrote
        // another process's pid makes the experiment busy at once; otherwise try again, for up to 10 s.
        let deadline = Date().addingTimeInterval(10)
        while true {
            if let lock = try FileLock.acquire(lockPath) { return lock }
            let holder = FileLock.holder(of: lockPath)
            let otherProcess = holder.map { $0 != 0 && $0 != getpid() } ?? false
            if otherProcess || Date() >= deadline {
                let named = holder ?? 0
                throw AutoresearchError("experiment '\(experiment)' is busy: process \(named) holds its lock (\(lockPath))",
                                        hint: "wait for it to finish, or stop it (kill \(named)); the lock goes away with its process")
            }
            usleep(UInt32.random(in: 5_000...30_000))
        }
    }

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
        /// The files that were untracked when the loop started: the user's, which a repair neither
        /// snapshots nor removes (nil for `run`, where untracked files are the change).
        var userFiles: [String]?
        /// When the group's leader started (clock ticks since boot) and the boot's id: they tell the
        /// group from a later one given the same id. Nil in markers of older versions and when /proc
        /// did not tell; without them the group is never signalled.
        var processStartTicks: UInt64?
        var bootID: String?
        /// The number of the worker in its own clone that makes the run (on the experiment's branch).
        var workerInClone: Int?

        /// The marker as `StateFile.read` reads it back (the date in milliseconds since 1970),
        /// written without `JSONEncoder`, which cost a tenth of a millisecond a write (two a run).
        func json() throws -> [UInt8] {
            try JSONWriter.object(inOrder: [
                ("phase", .string(phase.rawValue)), ("run", .string(run)), ("candidate", .string(candidate)),
                ("best", best.map(JSONValue.string)), ("branch", .string(branch)),
                ("start", .number(start.timeIntervalSince1970 * 1000)), ("description", .string(description)),
                ("processGroup", processGroup.map { .integer(Int($0)) }),
                ("userFiles", userFiles.map { .array($0.map(JSONValue.string)) }),
                ("processStartTicks", processStartTicks.map { .integer(Int(clamping: $0)) }),
                ("bootID", bootID.map(JSONValue.string)), ("workerInClone", workerInClone.map(JSONValue.integer)),
            ])
        }

        /// The branch the run is on.
        var branchName: ReferenceName { ReferenceName(branch) }
        /// The parallel worker making the run: whose branch it is on, or the worker in its own clone.
        var worker: Int? {
            branch.hasPrefix(Refs.workerBranchPrefix) ? branch.split(separator: "/").last.flatMap { Int($0) } : workerInClone
        }
    }

    func writeMarker(_ marker: Marker) throws { try StateFile.write(bytes: marker.json(), to: markerPath) }

    func readMarker() -> Marker? { StateFile.read(Marker.self, from: markerPath) }

    func removeMarker() { unlink(markerPath) }
}

/// The JSON files of local state (the marker, workers' states): written whole, then renamed into
/// place, so a reader sees the old or the new content; dates in milliseconds since 1970.
enum StateFile {
    static func read<T: Decodable>(_ type: T.Type, from path: String) -> T? {
        guard let bytes = LocalFile.read(path, atMost: .max) else { return nil }
        let data = Data(bytes)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try? decoder.decode(type, from: data)
    }

    static func write<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        try write(bytes: Array(try encoder.encode(value)), to: path)
    }

    static func write(bytes: [UInt8], to path: String) throws {
        guard LocalFile.replace(path, with: bytes) else {
            throw AutoresearchError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes `bytes` to a temporary file of this process next to `path`, then renames it over
    /// `path`: a reader, or a `kill -9`, sees the old file or the new one, never part of one.
    static func replace(_ path: String, with bytes: [UInt8]) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // Not fsynced (a cache: a torn or lost file is rebuilt; see `LocalFile`).
        let partial = path + ".\(getpid()).tmp"
        guard LocalFile.write(bytes, to: partial), rename(partial, path) == 0 else {
            unlink(partial)
            throw AutoresearchError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// The tool's local files on the per-run path (the marker, the index-write proof, a run's log),
/// written with open, write and close, never fsynced (Foundation's `createFile` fsyncs a file it
/// is given contents for). They guard against the tool being killed, and a kill loses nothing the
/// kernel was given. Against a power loss an fsync here would order nothing: the git writes they
/// go with (libgit2's objects and references) are not fsynced either (libgit2's default, like
/// git's `core.fsync`), so the marker could reach the disk while the branch move it describes does not.
enum LocalFile {
    /// Creates or truncates `path` (mode 0644 before the umask) and writes `bytes`. False on
    /// failure, with `errno` set.
    static func write(_ bytes: [UInt8], to path: String) -> Bool {
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard file >= 0 else { return false }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(file, $0.baseAddress! + written, bytes.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let failure = errno
                close(file)
                errno = failure
                return false
            }
            written += count
        }
        return close(file) == 0
    }

    /// The first `limit` bytes of `path` (all of a file in /proc, which `stat` calls empty), read
    /// with open and read; nil when it cannot be opened or read.
    static func read(_ path: String, atMost limit: Int) -> [UInt8]? {
        let file = open(path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return nil }
        defer { close(file) }
        var bytes = [UInt8](repeating: 0, count: min(limit, 4096)), count = 0
        while count < limit {
            if count == bytes.count { bytes += [UInt8](repeating: 0, count: min(limit, bytes.count * 2) - bytes.count) }
            let got = bytes.withUnsafeMutableBytes { Glibc.read(file, $0.baseAddress! + count, $0.count - count) }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { return nil }
            if got == 0 { break }
            count += got
        }
        return Array(bytes.prefix(count))
    }

    /// Writes `bytes` to `PATH.tmp`, then renames it to `path`: a reader sees the old content or
    /// the new, never a part. False on failure, with `errno` set.
    static func replace(_ path: String, with bytes: [UInt8]) -> Bool {
        let partial = path + ".tmp"
        return write(bytes, to: partial) && rename(partial, path) == 0
    }
}
