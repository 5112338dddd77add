import Git

/// What `promote` did: the best of an experiment brought into one of the user's branches.
public struct Promotion: Sendable {
    /// How the branch took the best.
    public enum Mode: String, Sendable {
        /// The branch moved forward to the best.
        case fastForward = "fast-forward"
        /// A merge commit of the branch and the best.
        case merge
        /// The branch already contained the best; nothing was written.
        case upToDate = "up-to-date"
    }

    public let experiment: String
    /// The branch promoted into, full name.
    public let branch: String
    public let mode: Mode
    /// The branch's tip afterwards.
    public let commit: OID
    /// The best run and the commit its record is on.
    public let best: RunEntry
    /// The best's value.
    public let value: Double
    /// The baseline the best is measured against.
    public let baseline: RunRecord?

    /// The branch's short name (`main`).
    public var branchName: String { ReferenceName(branch).shortBranchName }

    /// The relative change from baseline to best, positive when better; nil when the best is the
    /// baseline or there is none.
    public var improvement: Double? {
        guard let baseline, baseline.run != best.record.run, let base = baseline.value else { return nil }
        return best.record.direction.improvement(from: base, to: value)
    }
}

extension Workspace {
    /// Brings the best of an experiment into `requested` (a branch, short or full name; default:
    /// the branch HEAD is on): fast-forward when the branch is behind, else a merge commit whose
    /// message carries the best's record; the branch moves with compare-and-swap. Brings the
    /// experiment branch's tip when its tree is the best's (a merge of workers), else the best.
    /// When the branch is checked out here, index and work tree follow, and nothing is written
    /// unless that is safe; a branch checked out in another work tree is refused.
    public func promote(experiment name: String, into requested: String?) throws -> Promotion {
        let tip = try context(name).tip()
        guard let standing = try ledger.bestAndBaseline(experiment: name, from: tip),
              let value = standing.best.record.value else {
            throw AutoresearchError("experiment '\(name)' has no kept run yet: nothing to promote",
                                    hint: "measure the baseline with 'git autoresearch run'")
        }
        let best = standing.best
        let head = try repository.head()
        let (branch, old) = try promotionBranch(requested, head: head, experiment: name)
        func done(_ mode: Promotion.Mode, _ commit: OID) -> Promotion {
            Promotion(experiment: name, branch: branch, mode: mode, commit: commit, best: best, value: value, baseline: standing.baseline)
        }
        if try repository.isAncestor(best.commit, of: old) { return done(.upToDate, old) }

        let short = ReferenceName(branch).shortBranchName
        let checkedOutHere = try isCheckedOutHere(branch, head: head)
        let bring = try repository.commit(tip).tree == repository.commit(best.commit).tree ? tip : best.commit
        let fastForward = try repository.isAncestor(old, of: bring)
        let tree: OID
        if fastForward {
            tree = try repository.commit(bring).tree
        } else {
            switch try repository.mergeTrees(ours: old, theirs: bring) {
            case .tree(let merged): tree = merged
            case .conflicts(let paths):
                throw AutoresearchError("merging autoresearch/\(name) into \(short) conflicts in \(Self.listPaths(paths)); nothing was promoted",
                                        hint: "merge by hand: \(checkedOutHere ? "" : "git switch \(short) && ")git merge \(bring.short), resolve the conflicts, then commit")
            }
        }
        if checkedOutHere {
            let blocked = try repository.checkoutSafely(tree, from: try repository.commit(old).tree)
            guard blocked.isEmpty else {
                throw AutoresearchError("promoting would overwrite files in the work tree (\(Self.listPaths(blocked))); nothing was promoted",
                                        hint: "move them away (they are untracked or changed), then promote again")
            }
        }
        let record = best.record
        let commit = fastForward ? bring : try repository.createCommit(
            tree: tree, parents: [old, bring],
            message: "Promote autoresearch/\(name): \(record.metric)=\(Number.format(value)) (run \(record.run))\n\n\(record.line)\n")
        do {
            try repository.setReference(ReferenceName(branch), to: commit, expecting: .value(old),
                                        message: "autoresearch: promote \(name) run \(record.run) (\(fastForward ? "fast-forward" : "merge"))")
        } catch let error as GitError where error.isModified {
            // Another writer moved the branch meanwhile: put index and work tree back.
            let stuck = checkedOutHere ? try repository.checkoutSafely(old, from: tree) : []
            throw AutoresearchError("\(short) moved while promoting; nothing was promoted",
                                    hint: stuck.isEmpty ? "promote again"
                                        : "the work tree still holds the promoted files (\(Self.listPaths(stuck)) changed meanwhile): check 'git status', then promote again")
        }
        return done(fastForward ? .fastForward : .merge, commit)
    }

    /// Whether `branch` is checked out in this work tree, which then must have no changes to
    /// tracked files; throws when it has, or when the branch is checked out in another work tree,
    /// whose files would not follow.
    private func isCheckedOutHere(_ branch: String, head: Head) throws -> Bool {
        let short = ReferenceName(branch).shortBranchName
        guard case .branch(ReferenceName(branch), _) = head else {
            guard try !repository.isCheckedOut(branch: ReferenceName(branch)) else {
                throw AutoresearchError("\(short) is checked out in another work tree, whose files would not follow; nothing was promoted",
                                        hint: "run 'git autoresearch promote' in that work tree (see 'git worktree list'), or promote into another branch with --into")
            }
            return false
        }
        let changed = try repository.status().filter { !$0.isUntracked }.map(\.path)
        guard changed.isEmpty else {
            throw AutoresearchError("\(short) is checked out here with uncommitted changes (\(Self.listPaths(changed))); nothing was promoted",
                                    hint: "commit or stash them (git stash), then promote again; untracked files may stay")
        }
        return true
    }

    /// The branch to promote into and its tip: the one named, else the one HEAD is on; never an
    /// experiment branch, never created.
    private func promotionBranch(_ requested: String?, head: Head, experiment: String) throws -> (name: String, tip: OID) {
        let isExperimentBranch = { (ref: String) in
            ref.hasPrefix(Refs.experimentBranchPrefix) || ref.hasPrefix(Refs.workerBranchPrefix)
        }
        let branch: String
        if let requested {
            branch = ReferenceName(branch: requested).fullName
            guard !isExperimentBranch(branch) else {
                throw AutoresearchError("\(ReferenceName(branch).shortBranchName) is an experiment branch: promote brings the best into one of your branches",
                                        hint: "name one with --into (for example --into \(defaultBranch(experiment: experiment)))")
            }
        } else if case .branch(let current, _) = head {
            guard !isExperimentBranch(current.fullName) else {
                throw AutoresearchError("HEAD is on \(current.shortBranchName), an experiment branch: say which branch to promote into",
                                        hint: "git autoresearch promote --into \(defaultBranch(experiment: experiment))")
            }
            branch = current.fullName
        } else {
            throw AutoresearchError("HEAD is detached: say which branch to promote into", hint: "git autoresearch promote --into \(defaultBranch(experiment: experiment))")
        }
        guard let tip = try repository.referenceTarget(ReferenceName(branch)) else {
            throw AutoresearchError("no branch '\(ReferenceName(branch).shortBranchName)'; nothing was promoted",
                                    hint: "create it first (git branch \(ReferenceName(branch).shortBranchName)), or name an existing branch with --into")
        }
        return (branch, tip)
    }
}
