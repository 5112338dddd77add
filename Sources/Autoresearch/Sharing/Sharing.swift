import Foundation
import Git

/// What `pull` or `push` did.
public struct ShareReport: Sendable {
    /// How the remote's records joined ours: "up to date", "fast-forward" or "merged".
    public var records = "up to date"
    /// Experiments whose attempts chain took the remote's attempts.
    public var attemptsMerged: [String] = []
    /// Remote experiment branches now under `refs/remotes/REMOTE/autoresearch/`.
    public var remoteBranches: [String] = []
    /// References pushed (push only).
    public var pushed: [String] = []
    /// Experiment branches not pushed, with the reason (push only).
    public var skipped: [(branch: String, reason: String)] = []
    /// Push attempts made (more than one after lost races).
    public var attempts = 1
    /// Suspect records among those that arrived (`RecordTrust`): shown, never used for the best.
    public var suspects: [SuspectRecord] = []
    /// The remote's references that were not commits: skipped, with a warning each.
    public var refused: [String] = []
    /// Runs pruned here whose records the remote still had: removed again (their tombstones hold).
    public var prunedAgain: [String] = []
    /// Runs pruned here whose records the remote still had, brought back (`pull --resurrect`).
    public var resurrected: [String] = []
}

extension Workspace {
    /// Pushes that fail are retried, with growing random waits, up to this many attempts in all...
    static let maxPushAttempts = 12
    /// ...or up to this many while every failure is a race lost to another machine's push (four
    /// machines pushing at once, each round won by one of them: 12 lost in a row is 3% likely).
    static let maxPushAttemptsLosingRaces = 40

    /// Fetches the remote's experiment branches (kept under `refs/remotes/REMOTE/autoresearch/`),
    /// attempts and records, then merges the records (union of lines per commit) and the
    /// attempts chains into ours. Local branches are not touched. Stale lock files on our
    /// references are removed first, each with a `notice`.
    /// Records of runs pruned here (`prune`) that the remote still has are removed again, or,
    /// with `resurrect`, kept and their tombstones dropped.
    public func pull(remote: String, resurrect: Bool = false, notice: (String) -> Void = { _ in }) throws -> ShareReport {
        _ = try remoteURL(remote)
        try refuseShallowClone()
        StaleLocks(gitDirectory: repository.commonDirectory).clear(olderThan: StaleLocks.localBound, notice: notice)
        var report = ShareReport()
        try fetchShared(remote: remote, into: &report, credentials: CredentialHelpers(self).credentials, resurrect: resurrect,
                        notice: notice)
        return report
    }

    /// Pushes the records, the attempts chains and the experiment branches (`experiment`: only
    /// that one) to `remote`: fetches and merges first so that nothing on the remote is
    /// overwritten, then pushes; a race lost to another machine is retried after fetching and
    /// merging again. An experiment branch that diverged from the remote's is pushed, joined with
    /// the remote's, when its best is better; otherwise it is not pushed (its records and
    /// attempts are), and the report says so. What killed processes left, here and in a remote
    /// on the file system, is removed first with a `notice` (`clearLeftovers`);
    /// `breakStaleLocks` removes every lock file on our references there, whatever its age.
    public func push(remote: String, experiment: String? = nil, breakStaleLocks: Bool = false,
                     notice: (String) -> Void = { _ in }) throws -> ShareReport {
        let url = try remoteURL(remote)
        try refuseShallowClone()
        let names = try experiment.map { [try resolveExperimentName($0)] } ?? experimentNames()
        let local = localGitDirectory(url)
        if breakStaleLocks, local == nil { throw Self.remoteLocksOutOfReach(remote: remote, url: url) }
        StaleLocks(gitDirectory: repository.commonDirectory).clear(olderThan: StaleLocks.localBound, notice: notice)
        try clearOutgoingSnapshots(notice: notice)
        // Pushers through the file system take turns, so that they rarely lose races.
        let lock = try local.map { try takeTurns(pushingTo: remote, in: $0) }
        defer { lock?.release() }
        let remoteBound = try breakStaleLocks ? nil : staleRemoteLockBound()
        var report = ShareReport()
        var problem = PushProblem.rejected([])
        var watch = RemoteLockWatch()
        let credentials = CredentialHelpers(self).credentials
        var attempt = 0
        while true {
            attempt += 1
            report.attempts = attempt
            if let local {
                try clearLeftovers(inRemote: local, olderThan: remoteBound, notice: notice)
                watch.clearUnchanged(in: local, notice: notice)
            }
            do {
                let rejected = try pushOnce(remote: remote, experiments: names, localGitDirectory: local, report: &report,
                                            credentials: credentials, notice: notice)
                if rejected.isEmpty { return report }
                problem = .rejected(rejected)
            } catch let error as GitError where !error.isAuthenticationFailure {
                // Another machine pushed between our fetch and our push (non-fast-forward), or the
                // remote was busy: fetch, merge and try again.
                problem = .failed(error)
            }
            if attempt >= (problem.isLostRace ? Self.maxPushAttemptsLosingRaces : Self.maxPushAttempts) { break }
            usleep(UInt32.random(in: 0...UInt32(min(attempt, 8) * 60_000)))
        }
        throw pushFailure(problem, attempts: attempt, remote: remote, onFileSystem: local != nil, staleAfter: remoteBound ?? 0)
    }

    /// Refuses to share from a shallow clone: libgit2 (1.5) fetches as if the history were whole,
    /// so the server leaves out what lies beyond the boundary and `git fsck` fails afterwards.
    private func refuseShallowClone() throws {
        guard repository.isShallow else { return }
        throw AutoresearchError.shallowClone("pull and push need the whole history of the experiments")
    }

    /// One attempt: fetch and merge, then push. Returns the references the remote rejected.
    private func pushOnce(remote: String, experiments names: [String], localGitDirectory local: String?,
                          report: inout ShareReport, credentials: Credentials,
                          notice: (String) -> Void) throws -> [(ref: String, reason: String)] {
        try fetchShared(remote: remote, into: &report, credentials: credentials, notice: notice)
        var records: [String] = [], branches: [String] = []
        // Each branch goes out at the tip read under the best's lock, through a snapshot ref: a
        // worker that moves the branch to a new best writes that best's record under the same
        // lock, so the records pushed next hold it; a tip read by name later might not have it yet.
        let snapshots = Refs.outgoingSnapshotPrefix(pid: getpid())
        var snapshotRefs: [ReferenceName] = []
        defer { for ref in snapshotRefs { try? repository.deleteReference(ref) } }
        for notes in Refs.sharedNotes where try repository.referenceTarget(notes) != nil {
            records.append("\(notes):\(notes)")
        }
        report.skipped = []
        for name in names {
            let experiment = context(name)
            let attempts = experiment.refs.attempts
            if try repository.referenceTarget(attempts) != nil { records.append("\(attempts):\(attempts)") }
            let branch = experiment.refs.branch
            guard let pushed = try tipToPush(experiment, to: remote, report: &report) else { continue }
            let snapshot = ReferenceName(snapshots + branch.fullName.dropFirst("refs/".count))
            try repository.setReference(snapshot, to: pushed, message: "autoresearch: push of \(branch.shortBranchName)")
            snapshotRefs.append(snapshot)
            branches.append("\(snapshot):\(branch)")
        }
        // The records first, the branches once the records are there: a push is not atomic, and a
        // machine that fetches a branch must find the record of its best. Never an empty list:
        // libgit2 would push the remote's configured refspecs instead.
        for refspecs in [records, branches] where !refspecs.isEmpty {
            let statuses = try local.map { try pushByCompareAndSwap(remote: remote, refspecs: refspecs, into: $0) }
                ?? explainingTransportFailures(remote) { try repository.push(remote: remote, refspecs: refspecs, credentials: credentials) }
            let rejected = statuses.compactMap { ref, status in status.map { (ref: ref, reason: $0) } }
            if !rejected.isEmpty { return rejected }
        }
        report.pushed = (records + branches).map { String($0.split(separator: ":")[1]) }
        return []
    }

    /// The commit experiment `experiment`'s branch goes to `remote` at: its tip read under the
    /// best's lock, or, where the remote's branch diverged, ours joined with theirs when ours is
    /// better. Nil (and `report` says why) when it is not pushed.
    private func tipToPush(_ experiment: ExperimentContext, to remote: String, report: inout ShareReport) throws -> OID? {
        let branch = experiment.refs.branch
        guard let tip = try experiment.withBestLock({ try repository.referenceTarget(branch) }) else { return nil }
        guard let theirs = try repository.referenceTarget(experiment.refs.remoteBranch(remote)),
              !(try repository.isAncestor(theirs, of: tip)) else { return tip }
        let join = try experiment.withBestLock {
            let join = try experiment.bestOfLines(ours: tip, theirs: theirs, keepingOurFiles: true)
            if case .joined(let joined) = join {
                try experiment.movingBranches {
                    try repository.setReference(branch, to: joined, expecting: .value(tip), message: "autoresearch: joined with \(remote)")
                }
            }
            return join
        }
        let name = "autoresearch/\(experiment.name)"
        switch join {
        case .joined(let joined):
            return joined
        case .ours:
            report.skipped.append((branch: name, reason: "\(remote)'s best is not worse than ours; its records and attempts were pushed, and 'loop --sync \(remote)' adopts it"))
        case .refused(let reason):
            report.skipped.append((branch: name, reason: "\(remote)'s branch is not comparable with ours: \(reason)"))
        }
        return nil
    }

    /// The git directory of a remote reached through the file system (a path or `file://`
    /// URL); nil for network remotes.
    private func localGitDirectory(_ url: String) -> String? {
        var path = url
        if path.hasPrefix("file://") { path = String(path.dropFirst("file://".count)) }
        guard !path.contains("://"), !path.isEmpty else { return nil }
        if !path.hasPrefix("/") { path = root + "/" + path }
        let gitDirectory = FileManager.default.fileExists(atPath: path + "/HEAD") ? path : path + "/.git"
        return FileManager.default.fileExists(atPath: gitDirectory) ? gitDirectory : nil
    }

    /// A lock in a local remote's git directory, held while pushing (waiting up to two minutes
    /// for another pusher).
    private func takeTurns(pushingTo remote: String, in gitDirectory: String) throws -> FileLock {
        let path = LocalState.pushLock(inGitDirectory: gitDirectory)
        guard let lock = try FileLock.acquire(path, waitingUpTo: 120) else {
            throw AutoresearchError("\(remote) is busy: process \(FileLock.holder(of: path) ?? 0) has been pushing for two minutes (\(path))",
                                    hint: "try again later")
        }
        return lock
    }

    /// Pushes to a repository on the file system. libgit2 updates the references of such a
    /// repository without checking their old values, so a push arriving at the same moment
    /// (through a server that serves the same repository) could be overwritten. Here the objects
    /// go to temporary references first; then each reference moves in the remote repository with
    /// compare-and-swap, from the value our fetch saw. Returns the rejected references.
    private func pushByCompareAndSwap(remote: String, refspecs: [String], into gitDirectory: String) throws -> [String: String?] {
        let pairs = refspecs.map { $0.split(separator: ":").map(String.init) }.map { (source: $0[0], ref: $0[1]) }
        let staging = Refs.incomingStagingPrefix(pid: getpid())
        let target = try Repository(path: gitDirectory)
        defer { for pair in pairs { try? target.deleteReference(ReferenceName(staging + pair.ref.dropFirst("refs/".count))) } }
        _ = try repository.push(remote: remote, refspecs: pairs.map { "\($0.source):\(staging)\($0.ref.dropFirst("refs/".count))" })
        var statuses: [String: String?] = [:]
        for (source, ref) in pairs {
            guard let ours = try repository.referenceTarget(ReferenceName(source)) else { continue }
            let seen = try repository.referenceTarget(Refs.tracking(remote, ReferenceName(ref)))
            do {
                try target.setReference(ReferenceName(ref), to: ours, expecting: seen.map { .value($0) } ?? .absent,
                                        message: "autoresearch: push from \(Self.hostName)")
                statuses[ref] = .some(nil)
            } catch let error as GitError where error.isModified {
                statuses[ref] = Self.rejection(of: ReferenceName(ref), in: gitDirectory, error)
            }
        }
        return statuses
    }

    /// The URL of a configured remote, or `remote` itself when it is a URL or a path (as git
    /// takes them: `https://…`, `ssh://…`, `host:path`, `/path`, `./path`); an error naming it otherwise.
    func remoteURL(_ remote: String) throws -> String {
        if let url = try repository.remoteURL(remote) { return url }
        if Refs.isURL(remote) { return remote }
        throw AutoresearchError("no remote named '\(remote)'",
                                hint: "add it with 'git remote add \(remote) URL', or give a URL (https://host/repo.git, ssh://host/repo.git, host:repo.git) or a path")
    }

    /// Fetches into the tracking refs under the ledger's lock (lock files a killed fetch or merge
    /// left on those references go first), drops those that are not commits (before too: a bad
    /// one left by an older version would make the fetch fail), then merges records and attempts.
    private func fetchShared(remote: String, into report: inout ShareReport, credentials: Credentials, resurrect: Bool = false,
                             notice: (String) -> Void) throws {
        try StaleLocks.withReferenceLock(in: repository) {
            StaleLocks(gitDirectory: repository.commonDirectory).clear(in: Refs.lockedNamespaces, olderThan: nil, notice: notice)
            try fetchAndMerge(remote: remote, into: &report, credentials: credentials, resurrect: resurrect, notice: notice)
        }
    }

    private func fetchAndMerge(remote: String, into report: inout ShareReport, credentials: Credentials, resurrect: Bool,
                               notice: (String) -> Void) throws {
        try dropMistypedTrackingRefs(remote: remote).forEach(notice)
        try explainingTransportFailures(remote) {
            try repository.fetch(remote: remote, refspecs: Refs.fetchRefspecs(remote), credentials: credentials)
        }
        report.refused = try dropMistypedTrackingRefs(remote: remote)
        report.refused.forEach(notice)
        let remoteBranches = Refs.remoteBranchPrefix(remote)
        report.remoteBranches = try repository.references(matching: remoteBranches + "*")
            .map { String($0.name.fullName.dropFirst(remoteBranches.count)) }.sorted()
        for ref in Refs.sharedNotes {
            guard let theirs = try repository.referenceTarget(Refs.remoteNotes(remote, ref)) else { continue }
            let before = try repository.referenceTarget(ref)
            let after = try repository.mergeNotes(ref: ref, theirs: theirs, message: "autoresearch: \(ref) merged from \(remote)")
            if ref == Refs.notes, after != before {
                if report.records != "merged" { report.records = after == theirs ? "fast-forward" : "merged" }
                report.suspects = try suspectsArrived(before: before, after: after)
                if let before {
                    let runs = try ledger.applyTombstones(changedFrom: before, to: after, resurrect: resurrect)
                    if resurrect { report.resurrected = runs } else { report.prunedAgain = runs }
                }
            }
        }
        let prefix = Refs.remoteAttemptsPrefix(remote)
        for (ref, theirs) in try repository.references(matching: prefix + "*/attempts") {
            let name = String(ref.fullName.dropFirst(prefix.count).dropLast("/attempts".count))
            if try ledger.mergeAttempts(experiment: name, theirs: theirs, from: remote),
               !report.attemptsMerged.contains(name) {
                report.attemptsMerged.append(name)
            }
        }
    }

    /// Runs a fetch or push, turning the failures of the connection (authentication, a remote
    /// out of reach, ssh's refusal) into errors that name the remote and the cause, with advice.
    func explainingTransportFailures<T>(_ remote: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as GitError where error.isConnectionFailure {
            // libgit2 says "failed to connect to HOST: Connection refused": the cause is the last part.
            let cause = error.message.components(separatedBy: ": ").last!.lowercased()
            let url = try remoteURL(remote)
            throw AutoresearchError("cannot reach \(remote)\(url == remote ? "" : " (\(url))"): \(cause)",
                                    hint: "check that the remote is up and its URL is right (git remote -v)")
        } catch let error as GitError where error.errorClass == .net && error.message == "unsupported URL protocol" {
            // libgit2 says so of a path with no repository too.
            let url = try remoteURL(remote)
            let path = url.hasPrefix("file://") ? String(url.dropFirst("file://".count)) : url.contains("://") ? nil : url
            throw AutoresearchError(path.map { "\(remote): no repository at \($0)" } ?? "\(remote): unsupported URL protocol in \(url)",
                                    hint: "check the remote's path or URL (git remote -v): a path, file://, ssh://, host:path, git:// or https://")
        } catch let error as GitError where error.errorClass == .ssh && !error.isAuthenticationFailure {
            throw AutoresearchError("\(remote): \(error.message)",
                                    hint: "check that ssh reaches the host ('ssh HOST'; ~/.ssh/config, GIT_SSH_COMMAND, core.sshCommand) and that the repository's path is right")
        } catch let error as GitError where error.isAuthenticationFailure {
            throw AutoresearchError("authentication failed for \(remote): \(error.message)",
                                    hint: "for https, check credential.helper (git config --global credential.helper store, or your platform's) or answer the prompt on a terminal; for ssh, check that 'ssh HOST' logs in (keys, ssh-agent, ~/.ssh/config), then try again")
        }
    }
}

extension Ledger {
    /// Joins a remote's attempts chain for `experiment` to ours: fast-forward when one contains
    /// the other, else a merge commit (empty tree; parents: ours, theirs). Returns whether ours changed.
    func mergeAttempts(experiment: String, theirs: OID, from remote: String) throws -> Bool {
        let ref = Refs(experiment).attempts
        let before = try repository.referenceTarget(ref)
        let tree = try repository.emptyTree()
        let after = try repository.updateReference(ref, message: "autoresearch: attempts merged from \(remote)") { ours in
            guard let ours else { return theirs }
            if try repository.isAncestor(theirs, of: ours) { return ours }
            if try repository.isAncestor(ours, of: theirs) { return theirs }
            return try repository.createCommit(tree: tree, parents: [ours, theirs],
                                               message: "autoresearch: \(experiment) attempts merged from \(remote)\n")
        }
        return after != before
    }
}
