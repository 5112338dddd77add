import Foundation
import Git

extension Workspace {
    /// The branch hints name for "your main branch": the branch `experiment` was created from
    /// (while it exists), else `init.defaultBranch` (when it exists), else the branch `origin/HEAD`
    /// names, else the branch HEAD is on (unless an experiment's), else `master` if it exists, else `main`. Never fails: it is for messages.
    public func defaultBranch(experiment: String? = nil) -> String {
        let path = experiment.map { LocalState(repository: repository, experiment: $0).baseBranchPath }
        if let path, let recorded = try? String(contentsOfFile: path, encoding: .utf8), let branch = existingBranch(recorded) {
            return branch
        }
        if let configured = try? repository.configValue("init.defaultBranch"), let branch = existingBranch(configured) { return branch }
        if let remoteHead = try? repository.symbolicTarget("refs/remotes/origin/HEAD") {
            return String(remoteHead.fullName.dropFirst("refs/remotes/origin/".count))
        }
        if case .branch(let current, _)? = try? repository.head(), !current.fullName.hasPrefix(Refs.experimentBranchPrefix),
           !current.fullName.hasPrefix(Refs.workerBranchPrefix) {
            return current.shortBranchName
        }
        return existingBranch("master") ?? "main"
    }

    /// Notes the branch experiment `name` is created from (see `defaultBranch`).
    func rememberBaseBranch(_ branch: ReferenceName, experiment name: String) throws {
        let state = LocalState(repository: repository, experiment: name)
        try FileManager.default.createDirectory(atPath: state.sharedDirectory, withIntermediateDirectories: true)
        try Data(branch.shortBranchName.utf8).write(to: URL(fileURLWithPath: state.baseBranchPath), options: .atomic)
    }

    /// `name` (a short branch name, surrounding whitespace ignored) when such a local branch exists.
    private func existingBranch(_ name: String) -> String? {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, let reference = ReferenceName(validating: ReferenceName(branch: trimmed).fullName),
              (try? repository.referenceTarget(reference)) != nil else { return nil }
        return trimmed
    }
}
