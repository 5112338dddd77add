import Foundation
import Git

/// What stopped the last attempt of a push.
enum PushProblem {
    /// The remote refused these references, each with its reason.
    case rejected([(ref: String, reason: String)])
    /// The transfer itself failed.
    case failed(GitError)

    /// True when another machine's push got in first: the remote's reference moved on since our
    /// fetch (a non-fast-forward, or a compare-and-swap that found it changed). The others are
    /// making progress, so waiting longer ends.
    var isLostRace: Bool {
        switch self {
        case .failed(let error):
            error.code == .nonFastForward
        case .rejected(let refs):
            !refs.isEmpty && refs.allSatisfy { $0.reason == Workspace.changedMeanwhile || $0.reason.contains("non-fast-forward") }
        }
    }
}

/// Lock files in a remote on the file system watched over a push's attempts: a live writer (a
/// `git daemon` serving the same repository) holds a reference's lock for milliseconds, so one
/// seen unchanged a second apart, by this machine's clock, was left by a killed process. The
/// watch needs no agreement between clocks, unlike the lock file's age.
struct RemoteLockWatch {
    /// How long a lock file must stay unchanged to count as left behind.
    static let unchangedFor: TimeInterval = 1
    private var firstSeen: [String: (identity: [Int], at: Date)] = [:]

    /// Removes, with a notice, the lock files on our references in `gitDirectory` that stayed
    /// unchanged since they were first seen `unchangedFor` ago or more.
    mutating func clearUnchanged(in gitDirectory: String, notice: (String) -> Void) {
        let locks = StaleLocks(gitDirectory: gitDirectory).lockFiles()
        var seenNow: [String: (identity: [Int], at: Date)] = [:]
        for lock in locks {
            var status = stat()
            guard stat(lock.path, &status) == 0 else { continue }
            let identity = [Int(status.st_ino), Int(status.st_size), Int(status.st_mtim.tv_sec), Int(status.st_mtim.tv_nsec)]
            let first = firstSeen[lock.path].flatMap { $0.identity == identity ? $0 : nil } ?? (identity: identity, at: Date())
            if Date().timeIntervalSince(first.at) >= Self.unchangedFor, unlink(lock.path) == 0 {
                notice("removed a lock file left by a killed process (unchanged for \(Durations.format(Date().timeIntervalSince(first.at)))): \(lock.path)")
                continue
            }
            seenNow[lock.path] = first
        }
        firstSeen = seenNow
    }
}

/// What a killed push leaves in a repository on the file system, and the errors that name it.
extension Workspace {
    /// The start of the rejection reason of a reference whose lock file is in the way.
    static let lockedReason = "locked"
    /// The rejection reason of a reference another push updated between our fetch and our push.
    static let changedMeanwhile = "it changed on the remote meanwhile"

    /// Seconds after which a lock file on our references in a remote on the file system counts
    /// as stale: git config `autoresearch.staleLockSeconds`, else `StaleLocks.remoteBound`.
    func staleRemoteLockBound() throws -> TimeInterval {
        guard let text = try repository.configValue(StaleLocks.remoteBoundKey) else { return StaleLocks.remoteBound }
        guard let seconds = TimeInterval(text), seconds >= 0 else {
            throw AutoresearchError("invalid \(StaleLocks.remoteBoundKey) '\(text)'", hint: "set it to a number of seconds, for example 300")
        }
        return seconds
    }

    /// Run while holding the push lock of the remote repository at `gitDirectory`: removes the
    /// lock files on our references older than `bound` (all when nil), then the staging
    /// references under `refs/autoresearch-incoming/`, which only a pusher holding that lock
    /// makes and deletes, so any found now were left by a killed one. A notice for each.
    func clearLeftovers(inRemote gitDirectory: String, olderThan bound: TimeInterval?, notice: (String) -> Void) throws {
        StaleLocks(gitDirectory: gitDirectory).clear(olderThan: bound, notice: notice)
        // Only pushers holding the remote's push lock (as this one does) write incoming refs: a lock
        // on one is a killed pusher's, whatever its age.
        StaleLocks(gitDirectory: gitDirectory).clear(in: [Refs.incomingPrefix], olderThan: nil, notice: notice)
        let target = try Repository(path: gitDirectory)
        for (ref, _) in try target.references(matching: Refs.incomingPrefix + "*") {
            try target.deleteReference(ref)
            notice("removed \(ref) from \(gitDirectory) (left by a killed push)")
        }
    }

    /// Removes the snapshot refs of pushes from this repository whose process is gone, and the
    /// lock files such a push left on them when killed mid-write: only the push named in a
    /// snapshot's directory (`PID-RANDOM`) writes under it, so once that process is gone its lock
    /// files are stale whatever their age.
    func clearOutgoingSnapshots(notice: (String) -> Void) throws {
        func isGone(_ snapshotDirectory: Substring) -> Bool {
            Int32(snapshotDirectory.prefix { $0 != "-" }).map { !GroupProcess.isAlive($0) } ?? false
        }
        let locks = StaleLocks(gitDirectory: repository.commonDirectory)
        for entry in DirectoryEntry.list(locks.gitDirectory + Refs.outgoingPrefix) where entry.isDirectory && isGone(entry.name[...]) {
            locks.clear(in: [Refs.outgoingPrefix + entry.name + "/"], olderThan: nil, notice: notice)
        }
        for (ref, _) in try repository.references(matching: Refs.outgoingPrefix + "*")
        where isGone(ref.fullName.dropFirst(Refs.outgoingPrefix.count).prefix { $0 != "/" }) {
            try repository.deleteReference(ref)
            notice("removed \(ref) (left by a killed push)")
        }
    }

    /// Why the compare-and-swap of `ref` in the repository at `gitDirectory` failed with `error`:
    /// its lock file is there, or it changed meanwhile.
    static func rejection(of ref: ReferenceName, in gitDirectory: String, _ error: GitError) -> String {
        let path = StaleLocks(gitDirectory: gitDirectory).gitDirectory + ref.fullName + ".lock"
        guard error.code == .locked, let lock = StaleLocks.lockFile(at: path) else { return changedMeanwhile }
        return "\(lockedReason) by \(lock.path), \(Durations.format(lock.age)) old"
    }

    /// The error after the last attempt of a push, saying what was seen and what helps.
    func pushFailure(_ problem: PushProblem, attempts: Int, remote: String, onFileSystem: Bool, staleAfter bound: TimeInterval) -> AutoresearchError {
        let again = "run 'git autoresearch push' again"
        let rejected: [(ref: String, reason: String)]
        switch problem {
        case .failed(let error):
            return AutoresearchError("could not push to \(remote) in \(attempts) attempts: \(error)", hint: again)
        case .rejected(let refs):
            rejected = refs
        }
        let reasons = rejected.map(\.reason)
        let message = "could not push to \(remote) in \(attempts) attempts: \(remote) rejected "
            + rejected.map { "\($0.ref) (\($0.reason))" }.joined(separator: ", ")
        if reasons.contains(where: { $0.hasPrefix(Self.lockedReason) }) {
            return AutoresearchError(message, hint: "a push holds such a lock for milliseconds, so a killed one left it: "
                + "'git autoresearch push \(remote) --break-stale-locks' removes it (lock files older than "
                + "\(Durations.format(bound)) go by themselves; git config \(StaleLocks.remoteBoundKey) sets that)")
        }
        if !onFileSystem, reasons.contains(where: { $0.contains("lock") || $0.contains("failed to update ref") }) {
            return AutoresearchError(message, hint: "the remote could not update the reference: most likely a killed push left its lock file "
                + "there. Whoever administers \(remote) removes, in its repository, that reference's file ending in .lock "
                + "(\(Self.remoteLockExamples)), then \(again)")
        }
        return AutoresearchError(message, hint: "another machine pushed the same references at the same moment every time: \(again)")
    }

    /// The error for `push --break-stale-locks` to a remote this machine reaches only over the network.
    static func remoteLocksOutOfReach(remote: String, url: String) -> AutoresearchError {
        AutoresearchError("\(remote) (\(url)) is not on this machine's file system, so its lock files cannot be removed from here",
                          hint: "whoever administers \(remote) removes the stale lock files in its repository (\(remoteLockExamples)), "
                              + "or runs 'git autoresearch push --break-stale-locks' where the repository is a path")
    }

    /// Where our lock files lie in a remote repository, for messages.
    private static var remoteLockExamples: String {
        "refs/notes/autoresearch.lock, refs/notes/autoresearch-logs.lock, refs/autoresearch/NAME/attempts.lock, refs/heads/autoresearch/NAME.lock"
    }
}
