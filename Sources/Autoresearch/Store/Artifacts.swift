import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// A file stored with a run.
public struct Artifact: Sendable, Equatable {
    public let path: String
    public let size: Int
}

extension Workspace {
    /// Stores with the run the files matching the experiment's artifact globs that the evaluation
    /// wrote (modified since `since`): one tree, linked into the attempts chain so it is reachable,
    /// pushed and fetched with the run. Files beyond `artifactLimit` bytes in total are left out and
    /// named in `skipped`. Nil when no file matched.
    func storeArtifacts(_ experiment: Experiment, run: String, commit: OID, since: Date) throws -> (tree: OID, skipped: [String])? {
        guard !experiment.artifacts.isEmpty else { return nil }
        var stored: [(path: String, blob: OID, mode: FileMode)] = []
        var skipped: [String] = []
        var total = 0
        for path in matchingFiles(experiment.artifacts) {
            var info = stat()
            guard stat(root + "/" + path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            guard modified >= since.timeIntervalSince1970 else { continue }
            let size = Int(info.st_size)
            guard total + size <= experiment.artifactLimit,
                  let data = FileManager.default.contents(atPath: root + "/" + path) else {
                skipped.append("\(path) (\(ByteCount.format(size)))")
                continue
            }
            total += data.count
            stored.append((path, try repository.createBlob(Array(data)), info.st_mode & 0o111 != 0 ? .executable : .blob))
        }
        guard !stored.isEmpty || !skipped.isEmpty else { return nil }
        let tree = try writeNestedTree(stored.map { ($0.path.split(separator: "/").map(String.init), $0.blob, $0.mode) })
        try ledger.linkArtifacts(tree, of: commit, experiment: experiment.name, run: run)
        return (tree, skipped)
    }

    /// The files of the work tree matching `patterns` (a path, a directory, or a glob in which `*`
    /// also matches `/`), sorted, the git directory left out.
    func matchingFiles(_ patterns: [String]) -> [String] {
        var found = Set<String>()
        for pattern in patterns {
            let components = pattern.split(separator: "/").map(String.init)
            let fixed = components.prefix { !$0.contains(where: { "*?[".contains($0) }) }
            let base = fixed.joined(separator: "/")
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + base, isDirectory: &isDirectory) else { continue }
            if fixed.count == components.count, !isDirectory.boolValue {
                found.insert(base)
                continue
            }
            let isGlob = fixed.count < components.count
            guard let walker = FileManager.default.enumerator(atPath: root + "/" + base) else { continue }
            while let relative = walker.nextObject() as? String {
                let path = base.isEmpty ? relative : base + "/" + relative
                if path == ".git" || path.hasPrefix(".git/") { walker.skipDescendants(); continue }
                if !isGlob || fnmatch(pattern, path, 0) == 0 { found.insert(path) }
            }
        }
        return found.sorted()
    }

    /// Writes a tree holding files at nested paths.
    private func writeNestedTree(_ files: [(path: [String], blob: OID, mode: FileMode)]) throws -> OID {
        var entries: [(name: String, id: OID, mode: FileMode)] = []
        var directories: [String: [(path: [String], blob: OID, mode: FileMode)]] = [:]
        for file in files {
            if file.path.count == 1 {
                entries.append((file.path[0], file.blob, file.mode))
            } else {
                directories[file.path[0], default: []].append((Array(file.path.dropFirst()), file.blob, file.mode))
            }
        }
        for (name, contents) in directories {
            entries.append((name, try writeNestedTree(contents), .tree))
        }
        return try repository.writeTree(entries: entries)
    }

    /// The artifacts stored with a run, by path.
    public func artifacts(of run: RunEntry) throws -> [Artifact] {
        guard let tree = try artifactTree(of: run) else { return [] }
        var found: [Artifact] = []
        try walk(tree, prefix: "") { path, blob, _ in found.append(Artifact(path: path, size: try repository.blob(blob).count)) }
        return found
    }

    /// Writes a run's artifacts under `directory` (created when missing); refuses to replace a file
    /// that exists there, before writing anything. Returns what it wrote.
    public func restoreArtifacts(of run: RunEntry, to directory: String) throws -> [Artifact] {
        guard let tree = try artifactTree(of: run) else {
            throw AutoresearchError("run \(run.record.run) has no artifacts",
                                    hint: "artifacts are stored for experiments with 'artifact' globs (git autoresearch init --artifact 'metrics.json')")
        }
        var files: [(path: String, blob: OID, mode: FileMode)] = []
        try walk(tree, prefix: "") { files.append(($0, $1, $2)) }
        if let existing = files.first(where: { FileManager.default.fileExists(atPath: directory + "/" + $0.path) }) {
            throw AutoresearchError("\(directory)/\(existing.path) exists; nothing was written", hint: "restore into an empty directory (--out DIR)")
        }
        var written: [Artifact] = []
        for file in files {
            let target = directory + "/" + file.path
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let bytes = try repository.blob(file.blob)
            try writeOutput(bytes, to: target, permissions: file.mode == .executable ? 0o755 : 0o644)
            written.append(Artifact(path: file.path, size: bytes.count))
        }
        return written
    }

    private func artifactTree(of run: RunEntry) throws -> OID? {
        guard let hex = run.record.artifacts else { return nil }
        guard let tree = OID(hex: hex), (try? repository.entries(ofTree: tree)) != nil else {
            throw AutoresearchError("the artifacts of run \(run.record.run) (tree \(hex.prefix(7))) are not in this repository",
                                    hint: "fetch them with 'git autoresearch pull' from the machine's remote")
        }
        return tree
    }

    private func walk(_ tree: OID, prefix: String, _ body: (String, OID, FileMode) throws -> Void) throws {
        for entry in try repository.entries(ofTree: tree) {
            let path = prefix + entry.name
            if entry.mode == .tree { try walk(entry.id, prefix: path + "/", body) } else { try body(path, entry.id, entry.mode) }
        }
    }
}

/// Byte counts as users read them.
public enum ByteCount {
    public static func format(_ bytes: Int) -> String {
        bytes < 1024 ? "\(bytes) B" : bytes < 1 << 20 ? String(format: "%.1f KiB", Double(bytes) / 1024)
            : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }
}
