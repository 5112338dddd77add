import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// The work tree's index, written under a proof of who writes it. libgit2 (like git) takes
/// `index.lock` for the length of a write and writes no pid into it: a process killed meanwhile
/// leaves it, and every later write fails with "the index is locked". While the tool writes the
/// index it holds `LocalState.indexWriteLockPath` (a `FileLock`) and keeps
/// `LocalState.indexWritePath` in place; the next command finding that file with its lock free
/// knows the writer died during the write, so an `index.lock` no older than that file is the
/// dead writer's and is removed. Any other `index.lock` (the user's git) is left alone.
extension ExperimentContext {
    /// Runs `body`, which writes this work tree's index, under the proof above.
    func writingIndex<T>(_ body: () throws -> T) throws -> T {
        let lock = try FileLock.acquire(state.indexWriteLockPath, waitingUpTo: 60)
        defer { lock?.release() }
        guard LocalFile.write([], to: state.indexWritePath) else {
            throw AutoresearchError("cannot write \(state.indexWritePath): \(String(cString: strerror(errno)))")
        }
        // Only a kill leaves the file: a write that failed (on the user's index.lock) proves nothing.
        defer { unlink(state.indexWritePath) }
        return try body()
    }

    /// Removes the `index.lock` a tool killed while writing the index left, with a notice.
    func clearIndexLockOfKilledWriter() {
        var proof = stat(), lockFile = stat()
        guard stat(state.indexWritePath, &proof) == 0, FileLock.holder(of: state.indexWriteLockPath) == nil else { return }
        let indexLock = repository.gitDirectory + "index.lock"
        if stat(indexLock, &lockFile) == 0, lockFile.st_mtim.tv_sec >= proof.st_mtim.tv_sec, unlink(indexLock) == 0 {
            events.notice("removed \(indexLock), left by a git-autoresearch killed while it wrote the index")
        }
        unlink(state.indexWritePath)
    }

    /// Runs `body`, which moves the tool's branches, under the reference lock: meanwhile a lock
    /// file on one of them is a killed process's. When `body` fails on one, the lock files on the
    /// branches go, with a notice, and `body` runs once more.
    func movingBranches<T>(_ body: () throws -> T) throws -> T {
        try StaleLocks.retrying(in: repository, clearing: { locks in
            var removed = false
            locks.clear(in: [Refs.experimentBranchPrefix, Refs.workerBranchPrefix], olderThan: nil) { notice in
                removed = true
                events.notice(notice)
            }
            return removed
        }, body)
    }

    /// `git reset --hard base` of branch, index and work tree. `workTreeHoldsHead`: the work
    /// tree is known to hold HEAD's files and the paths left alone (`Repository.resetHard`).
    func resetHard(to base: OID, workTreeHoldsHead: Bool = false) throws {
        let untracked = try writingIndex {
            try movingBranches { try repository.resetHard(to: base, workTreeHoldsHead: workTreeHoldsHead) }
        }
        workTreeHolds = untracked.isEmpty || untracked.allSatisfy(pathsLeftAlone().contains) ? base : nil
        // What the reset wrote is no change of anyone else's.
        startQuietPeriod()
    }

    /// Starts a quiet period of the loop's watch on the work tree and returns the paths the last
    /// one touched (nil: unknown, or no watch); a watch the kernel stops serving is dropped
    /// (every later step takes a status).
    @discardableResult
    func startQuietPeriod() -> [String]? {
        guard let watch = workTreeWatch else { return nil }
        let touched = watch.startQuietPeriod()
        if watch.isBroken { workTreeWatch = nil }
        return touched
    }

    /// Sets up the loop's watch on the work tree, as the loop starts (none when git config
    /// `autoresearch.watch` is false, or the kernel refuses).
    func watchWorkTree() throws {
        workTreeWatch = try watchIsWanted() ? WorkTreeWatch(repository) : nil
    }

    /// Git config `autoresearch.watch` (a git boolean; default true); an error when it is neither.
    func watchIsWanted() throws -> Bool {
        guard let text = try repository.configValue(Self.watchKey) else { return true }
        switch text.lowercased() {
        case "", "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw AutoresearchError("invalid \(Self.watchKey) '\(text)'", hint: "set it to true or false: git config \(Self.watchKey) false")
        }
    }

    /// The git config key that turns the loop's watch on the work tree off.
    static let watchKey = "autoresearch.watch"

    /// Gives the repository what an earlier process knew of the index (`Repository.indexMatch`),
    /// unless it knows something already.
    func restoreIndexMatch() {
        guard repository.indexMatch == nil, let bytes = LocalFile.read(state.indexMatchPath, atMost: 4096) else { return }
        repository.indexMatch = IndexMatch(recorded: String(decoding: bytes, as: UTF8.self))
    }

    /// Keeps what the repository knows of the index for the next process (`restoreIndexMatch`):
    /// once, as the experiment's lock goes (`withLock`), for all the index writes made under it.
    /// Not fsynced, and a torn, stale or missing file is harmless: the fact is used only while
    /// the index has the checksum it names.
    func keepIndexMatch() {
        guard let match = repository.indexMatch else { return }
        _ = LocalFile.replace(state.indexMatchPath, with: Array(match.recorded.utf8))
    }

    /// Stages every change but `excluded` and returns the index's tree.
    func stageAll(excluding excluded: Set<String>) throws -> OID {
        try writingIndex { try repository.stageAll(excluding: excluded) }
    }

    /// Stages `changes` (a status of the work tree without the paths left alone) and returns the
    /// index's tree; changes other than new, modified and deleted files take a full `stageAll`.
    func stage(_ changes: [StatusEntry]) throws -> OID {
        try writingIndex {
            try changes.allSatisfy(\.isPlainChange) ? repository.stage(changes) : repository.stageAll(excluding: pathsLeftAlone())
        }
    }

    /// Writes the stat data a scan found stale back into the index (`Repository.refreshIndex`).
    func refreshIndex() throws {
        try writingIndex { _ = try repository.refreshIndex() }
    }

    /// Switches HEAD, index and work tree to `branch`.
    func switchToBranch(_ branch: ReferenceName) throws {
        try writingIndex { try repository.switchToBranch(branch) }
    }
}
