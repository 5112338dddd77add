import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// The paths a candidate may not change, so that the metric cannot be improved by changing how
/// it is measured: the experiment's `guard` patterns, `.autoresearch` itself, and the evaluate
/// command's own files.
public struct GuardedPaths: Sendable {
    public let patterns: [String]
    /// The tree they are guarded as: the best commit's.
    public let tree: OID

    /// The guarded paths of `experiment` whose files are in `tree`: its guard patterns,
    /// `.autoresearch`, its targets file, every word of the evaluate and smoke commands that names
    /// a file in `tree` (so `python evaluate.py` guards `evaluate.py`), and `Makefile` for a
    /// command run with `make`.
    init(_ experiment: Experiment, tree: OID, repository: Repository) throws {
        var patterns = ExperimentFile.names + experiment.guards + (experiment.targetsFile.map { [$0] } ?? [])
        for command in [experiment.evaluate] + (experiment.smoke.map { [$0.command] } ?? []) {
            let words = command
                .split(whereSeparator: { $0.isWhitespace || ";|&()<>".contains($0) })
                .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) }
                .map { $0.hasPrefix("./") ? String($0.dropFirst(2)) : $0 }
            if words.first == "make", !patterns.contains("Makefile") { patterns.append("Makefile") }
            for word in words where !word.isEmpty && !word.hasPrefix("-") && !word.hasPrefix("/") && !patterns.contains(word) {
                if let entry = try repository.entry(inTree: tree, path: word), entry.kind == .blob { patterns.append(word) }
            }
        }
        self.patterns = patterns
        self.tree = tree
    }

    /// True when `path` is guarded: a pattern is the path, a directory above it (`data` or
    /// `data/`), or a glob matching it (`*` also matches `/`).
    public func covers(_ path: String) -> Bool {
        patterns.contains { pattern in
            let directory = pattern.hasSuffix("/") ? String(pattern.dropLast()) : pattern
            return path == directory || path.hasPrefix(directory + "/") || fnmatch(pattern, path, 0) == 0
        }
    }

    /// An id of the evaluator: a hash of the entry ids of the guarded paths that are plain paths
    /// (globs and `.autoresearch` left out) in `tree`. Records carry it, so runs measured by
    /// different evaluators are told apart.
    func fingerprint(repository: Repository) throws -> String {
        var text = ""
        for pattern in patterns.sorted() where !ExperimentFile.names.contains(pattern) && !pattern.contains(where: { "*?[".contains($0) }) {
            let path = pattern.hasSuffix("/") ? String(pattern.dropLast()) : pattern
            text += "\(path)\t\(try repository.entry(inTree: tree, path: path)?.id.hex ?? "-")\n"
        }
        return String(try repository.hashBlob(Array(text.utf8)).hex.prefix(12))
    }

    /// The guarded paths whose entries differ between `tree` and a candidate's tree.
    func violations(candidate: OID, repository: Repository) throws -> [String] {
        try repository.changedPaths(from: tree, to: candidate).filter(covers)
    }
}
