import Git

/// Every reference the tool reads or writes, named in this one place.
///
/// Per experiment NAME: the experiment branch `refs/heads/autoresearch/NAME` (its tip is the
/// best commit), the attempts chain `refs/autoresearch/NAME/attempts` (every evaluated commit
/// stays reachable from it), and parallel worker I's branch `refs/heads/autoresearch-workers/NAME/I`
/// (checked out in the linked work tree `autoresearch-NAME-I`). For all experiments: the records
/// with their log tails in `refs/notes/autoresearch` (earlier versions: the log tails in `refs/notes/autoresearch-logs`). What was
/// fetched from remote R: `refs/remotes/R/autoresearch/NAME`, `refs/notes/remotes/R/autoresearch`
/// (and `-logs`), `refs/autoresearch-remotes/R/NAME/attempts`. In a repository pushed to on the
/// file system, `refs/autoresearch-incoming/*` while a push is in flight.
public struct Refs: Sendable {
    public let experiment: String

    public init(_ experiment: String) { self.experiment = experiment }

    /// `refs/heads/autoresearch/NAME`.
    public var branch: ReferenceName { ReferenceName(Refs.experimentBranchPrefix + experiment) }
    /// `refs/autoresearch/NAME/attempts`.
    public var attempts: ReferenceName { ReferenceName(Refs.attemptsPrefix + experiment + "/attempts") }
    /// The prefix of this experiment's worker branches, ending in `/`.
    var workerBranches: String { Refs.workerBranchPrefix + experiment + "/" }
    /// The branch of parallel worker `index`.
    func workerBranch(_ index: Int) -> ReferenceName { ReferenceName(workerBranches + String(index)) }
    /// The prefix of git's names for the workers' linked work trees.
    var worktreePrefix: String { "autoresearch-\(experiment)-" }
    /// git's name for worker `index`'s linked work tree.
    func worktreeName(_ index: Int) -> String { worktreePrefix + String(index) }
    /// The experiment branch as fetched from `remote`.
    func remoteBranch(_ remote: String) -> ReferenceName { ReferenceName(Refs.remoteBranchPrefix(remote) + experiment) }

    /// The prefix of experiment branches.
    public static let experimentBranchPrefix = "refs/heads/autoresearch/"
    /// The prefix of parallel workers' branches (outside `refs/heads/autoresearch/`, which holds experiments).
    public static let workerBranchPrefix = "refs/heads/autoresearch-workers/"
    static let attemptsPrefix = "refs/autoresearch/"
    /// The notes holding the records.
    public static let notes: ReferenceName = "refs/notes/autoresearch"
    /// The notes holding the last lines of each run's log, as earlier versions wrote them: `RUN NNN TEXT` a line.
    public static let logs: ReferenceName = "refs/notes/autoresearch-logs"
    /// The notes shared with other machines.
    public static let sharedNotes = [notes, logs]

    /// The experiment a branch works on: `autoresearch/NAME` or a worker's
    /// `autoresearch-workers/NAME/I` (full names); nil for any other branch.
    static func experiment(ofBranch branch: ReferenceName) -> String? {
        let branch = branch.fullName
        if branch.hasPrefix(experimentBranchPrefix) { return String(branch.dropFirst(experimentBranchPrefix.count)) }
        guard branch.hasPrefix(workerBranchPrefix) else { return nil }
        let rest = branch.dropFirst(workerBranchPrefix.count)
        guard let slash = rest.lastIndex(of: "/"), slash > rest.startIndex else { return nil }
        return String(rest[..<slash])
    }

    /// The experiment of an attempts chain `refs/autoresearch/NAME/attempts`; nil for any other reference.
    static func experiment(ofAttempts ref: ReferenceName) -> String? {
        let name = ref.fullName
        guard name.hasPrefix(attemptsPrefix), name.hasSuffix("/attempts") else { return nil }
        let experiment = name.dropFirst(attemptsPrefix.count).dropLast("/attempts".count)
        return experiment.isEmpty ? nil : String(experiment)
    }

    /// Where `remote`'s experiment branches are kept.
    static func remoteBranchPrefix(_ remote: String) -> String { "refs/remotes/\(trackingName(remote))/autoresearch/" }
    /// Where `remote`'s copy of the shared notes `ref` is kept.
    static func remoteNotes(_ remote: String, _ ref: ReferenceName) -> ReferenceName {
        ReferenceName("refs/notes/remotes/\(trackingName(remote))/" + ref.fullName.dropFirst("refs/notes/".count))
    }
    /// Where `remote`'s attempts chains are kept.
    static func remoteAttemptsPrefix(_ remote: String) -> String { "refs/autoresearch-remotes/\(trackingName(remote))/" }

    /// True when `remote` is a URL or a path rather than a remote's name (which never holds ':'
    /// nor starts with '/' or '.').
    static func isURL(_ remote: String) -> Bool {
        remote.contains(":") || remote.hasPrefix("/") || remote.hasPrefix(".")
    }

    /// The one reference name component under which what came from `remote` is kept: a remote's
    /// name itself; for a URL or path, `url-` and its text without the scheme, every run of other
    /// characters than letters, digits and '_' made a '-' (`https://host:8080/r.git`: `url-host-8080-r-git`).
    static func trackingName(_ remote: String) -> String {
        guard isURL(remote) else { return remote }
        let text = remote.range(of: "://").map { String(remote[$0.upperBound...]) } ?? remote
        let words = text.split { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_")) }
        return "url-" + words.joined(separator: "-")
    }

    /// Where the fetch from `remote` put its copy of our reference `ref`.
    static func tracking(_ remote: String, _ ref: ReferenceName) -> ReferenceName {
        if sharedNotes.contains(ref) { return remoteNotes(remote, ref) }
        if let name = experiment(ofBranch: ref), ref.hasPrefix(experimentBranchPrefix) { return Refs(name).remoteBranch(remote) }
        return ReferenceName(remoteAttemptsPrefix(remote) + ref.fullName.dropFirst(attemptsPrefix.count))
    }

    /// What a fetch from `remote` takes: experiment branches, attempts chains, shared notes.
    static func fetchRefspecs(_ remote: String) -> [String] {
        ["+\(experimentBranchPrefix)*:\(remoteBranchPrefix(remote))*", "+\(attemptsPrefix)*:\(remoteAttemptsPrefix(remote))*"]
            + sharedNotes.map { "+\($0):\(remoteNotes(remote, $0))" }
    }

    /// Where pushes to a repository on the file system stage their objects.
    static let incomingPrefix = "refs/autoresearch-incoming/"

    /// A fresh prefix for the local references a push takes its branches from: the tips it read
    /// under the best's lock. Removed when the push ends; a killed push's go with the next sweep.
    static func outgoingSnapshotPrefix(pid: Int32) -> String {
        outgoingPrefix + "\(pid)-\(String(UInt32.random(in: 0..<(1 << 24)), radix: 16))/"
    }
    static let outgoingPrefix = "refs/autoresearch-outgoing/"

    /// A fresh prefix for the references a push to a repository on the file system stages its
    /// objects under, before moving the real ones by compare-and-swap.
    static func incomingStagingPrefix(pid: Int32) -> String {
        incomingPrefix + "\(pid)-\(String(UInt32.random(in: 0..<(1 << 24)), radix: 16))/"
    }

    /// The reference names only this tool writes, here and in a repository pushed to: a lock
    /// file a killed process left on one of them may be cleared (`StaleLocks`); any other lock
    /// file belongs to the user's git. A pattern ending in `/` covers every name below it; `*`
    /// stands for one component (a remote's name).
    static let ownNamespaces: [String] = [
        notes.fullName, logs.fullName, experimentBranchPrefix, workerBranchPrefix, attemptsPrefix, incomingPrefix,
        remoteBranchPrefix("*"), remoteNotes("*", notes).fullName, remoteNotes("*", logs).fullName, remoteAttemptsPrefix("*"),
    ]

    /// The namespaces the tool updates in this repository only while it holds
    /// `StaleLocks.withReferenceLock`: records, log tails, attempts chains, experiment and worker
    /// branches, what a fetch of ours brings.
    static let lockedNamespaces: [String] = [
        notes.fullName, logs.fullName, attemptsPrefix, experimentBranchPrefix, workerBranchPrefix,
        remoteBranchPrefix("*"), remoteNotes("*", notes).fullName, remoteNotes("*", logs).fullName, remoteAttemptsPrefix("*"),
    ]

    /// True when the reference `name` is in one of `ownNamespaces`.
    static func isOwn(_ name: ReferenceName) -> Bool {
        let components = name.fullName.split(separator: "/", omittingEmptySubsequences: false)
        return ownNamespaces.contains { pattern in
            let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
            let isPrefix = pattern.hasSuffix("/")
            let fixed = isPrefix ? parts.dropLast() : parts[...]
            guard isPrefix ? components.count > fixed.count : components.count == fixed.count else { return false }
            return zip(fixed, components).allSatisfy { $0 == "*" || $0 == $1 }
        }
    }
}
