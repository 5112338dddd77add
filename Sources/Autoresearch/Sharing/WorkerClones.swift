import Foundation
import Git

/// The clone a worker of `loop --worker-tree clone` works in, made and checked with libgit2, so
/// that the nodes need no `git`: cloned through `pull` (its credentials, its checks of what
/// arrives) rather than `git clone`, and removed by the job only when `unsharedRecords` is empty.
extension Workspace {
    /// The remote of a clone made by `clone(_:experiment:into:)`, as `git clone` names it.
    public static let cloneRemote = "origin"

    /// Makes `directory` (absent or empty) a clone of `url` on experiment `experiment`'s branch,
    /// as `git clone --branch autoresearch/NAME URL DIRECTORY` would (remote `origin`, the branch
    /// tracking `origin`'s), with the remote's records and attempts merged in as `pull` merges
    /// them. What it made is removed when it fails.
    public static func clone(_ url: String, experiment: String, into directory: String,
                             notice: (String) -> Void = { _ in }) throws -> Workspace {
        try Experiment.validate(name: experiment)
        let files = FileManager.default
        let existed = files.fileExists(atPath: directory)
        guard try !existed || files.contentsOfDirectory(atPath: directory).isEmpty else {
            throw AutoresearchError("\(directory) exists and is not empty", hint: "clone into a new directory")
        }
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Repository.create(at: directory).addRemote(cloneRemote, url: url)
            let workspace = try Workspace(discoveringFrom: directory)
            try workspace.checkOutRemoteBranch(of: experiment, url: url, notice: notice)
            return workspace
        } catch {
            try? files.removeItem(atPath: directory)
            if existed { try? files.createDirectory(atPath: directory, withIntermediateDirectories: false) }
            throw error
        }
    }

    /// Pulls from `cloneRemote`, then makes the experiment branch from the remote's, with git's
    /// upstream settings, and switches to it.
    private func checkOutRemoteBranch(of experiment: String, url: String, notice: (String) -> Void) throws {
        _ = try pull(remote: Self.cloneRemote, notice: notice)
        let refs = Refs(experiment)
        guard let tip = try repository.referenceTarget(refs.remoteBranch(Self.cloneRemote)) else {
            throw AutoresearchError("\(url) has no experiment '\(experiment)' (no branch \(refs.branch.shortBranchName))",
                                    hint: "push it there first: git autoresearch push REMOTE")
        }
        try repository.setReference(refs.branch, to: tip, expecting: .absent, message: "autoresearch: cloned from \(url)")
        let config = try ConfigFile(path: repository.gitDirectory + "config")
        try config.set("branch.\(refs.branch.shortBranchName).remote", Self.cloneRemote)
        try config.set("branch.\(refs.branch.shortBranchName).merge", refs.branch.fullName)
        // Nobody else writes the index of a clone being made: no index lock.
        try repository.switchToBranch(refs.branch)
    }

    /// The records (shared notes) and attempts chains of this repository that `remote` does not
    /// hold, after fetching its own: empty when everything recorded here is there (a worker's
    /// clone may then go). A remote out of reach throws.
    public func unsharedRecords(remote: String) throws -> [ReferenceName] {
        let ours = try Refs.sharedNotes.compactMap { ref in try repository.referenceTarget(ref).map { (name: ref, target: $0) } }
            + repository.references(matching: Refs.attemptsPrefix + "*/attempts")
        guard !ours.isEmpty else { return [] }
        let credentials = CredentialHelpers(self).credentials
        try StaleLocks.withReferenceLock(in: repository) {
            try explainingTransportFailures(remote) {
                try repository.fetch(remote: remote, refspecs: Refs.fetchRefspecs(remote), credentials: credentials)
            }
        }
        return try ours.filter { ref, target in
            guard let theirs = try repository.referenceTarget(Refs.tracking(remote, ref)) else { return true }
            return !(try repository.isAncestor(target, of: theirs))
        }.map(\.name)
    }
}
