import Foundation
import Git

/// The new and changed files of a candidate with their sizes, measured before anything is
/// committed and checked against the experiment's `maxFileSize` and `maxCandidateSize`.
struct CandidateSize {
    /// Bytes by path; a deleted file has none.
    private(set) var files: [String: Int] = [:]

    /// The files of the work tree's `changes` (under `root`), as on disk.
    init(workTree changes: [StatusEntry], root: String) {
        for change in changes {
            // `lstat`, as `FileManager.attributesOfItem` does, without building its dictionary.
            var status = stat()
            guard lstat(root + "/" + change.path, &status) == 0 else { continue }
            files[change.path] = Int(status.st_size)
        }
    }

    /// Adds the files committed from tree `old` to tree `new` (the agent's own commits); the work
    /// tree's size of a path, when known, wins.
    mutating func addCommitted(from old: OID, to new: OID, in repository: Repository) throws {
        for path in try repository.changedPaths(from: old, to: new) where files[path] == nil {
            guard let entry = try repository.entry(inTree: new, path: path), entry.kind == .blob else { continue }
            files[path] = try repository.blobSize(entry.id)
        }
    }

    var total: Int { files.values.reduce(0, +) }

    /// Why the files break `experiment`'s limits, naming the paths and sizes; nil within them.
    func excess(_ experiment: Experiment) -> String? {
        let largestFirst = files.sorted { $0.value > $1.value }
        var problems: [String] = []
        let oversized = largestFirst.filter { $0.value > experiment.maxFileSize }
        if experiment.maxFileSize > 0, !oversized.isEmpty {
            problems.append("over the \(ByteCount.format(experiment.maxFileSize)) limit of a file (maxFileSize): \(Self.list(oversized))")
        }
        if experiment.maxCandidateSize > 0, total > experiment.maxCandidateSize {
            problems.append("new and changed files total \(ByteCount.format(total)), over the \(ByteCount.format(experiment.maxCandidateSize)) limit of a candidate (maxCandidateSize): \(Self.list(largestFirst))")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    /// The first files with their sizes: `data/big.bin (60.0 MiB), ...`.
    private static func list(_ files: [(key: String, value: Int)]) -> String {
        Workspace.listPaths(files.map { "\($0.key) (\(ByteCount.format($0.value)))" })
    }
}

extension ExperimentContext {
    /// Records a candidate over the size limits as `rejected`, with nothing committed. An agent's
    /// change is put back as a discard would (its new files removed, the user's files left); a
    /// person's change (`run`) stays in the work tree as it is.
    func rejectOversized(_ excess: String, run: String, description: String, start: IterationStart, byAgent: Bool) throws -> RunOutcome {
        let commit = byAgent ? start.base ?? start.tip : start.tip
        let record = unevaluatedRecord(.rejected, reason: "too big: \(excess)", experiment: start.experiment, run: run,
                                       bestBefore: start.best?.record.value, marker: state.readMarker(), description: description)
        try ledger.recordAttempt(commit, experiment: name, run: run)
        try ledger.append(record, on: commit)
        if byAgent { try discardWorkTree(to: commit) }
        state.removeMarker()
        let raise = "raise the limits with 'git autoresearch init --name \(name) --max-file-size BYTES --max-candidate-size BYTES' (0: no limit)"
        let hint = byAgent ? "nothing was committed and the agent's change was removed; " + raise
            : "nothing was committed and the work tree is as it was: add big outputs to .gitignore, or " + raise
        return RunOutcome(record: record, commit: commit, bestBefore: start.best?.commit,
                          logPath: byAgent ? state.agentLogPath(run: run) : state.logPath(run: run), tail: [], hint: hint)
    }
}
