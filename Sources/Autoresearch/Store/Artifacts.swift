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
    /// The files matching the experiment's artifact globs, each with what tells a rewrite (inode,
    /// size, modification time): taken before an evaluation, so that only what it wrote is stored.
    /// Compared, not timed: the kernel stamps files with a coarse clock, behind the one a start
    /// time is read from, so a fast evaluator's file can look older than its start.
    func artifactFiles(_ experiment: Experiment) -> [String: [Int]] {
        guard !experiment.artifacts.isEmpty else { return [:] }
        var files: [String: [Int]] = [:]
        for path in matchingFiles(experiment.artifacts) {
            var info = stat()
            guard stat(root + "/" + path, &info) == 0 else { continue }
            files[path] = [Int(info.st_ino), Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
        }
        return files
    }

    /// Stores with the run the files matching the experiment's artifact globs that the evaluation
    /// wrote (not as they were in `unchanged`, taken before it): one tree, linked into the attempts
    /// chain so it is reachable, pushed and fetched with the run. Files beyond `artifactLimit`
    /// bytes in total are left out and named in `skipped`. Nil when no file matched.
    func storeArtifacts(_ experiment: Experiment, run: String, commit: OID,
                        unchanged: [String: [Int]]) throws -> (tree: OID, skipped: [String])? {
        guard !experiment.artifacts.isEmpty else { return nil }
        var stored: [(path: String, blob: OID, mode: FileMode)] = []
        var skipped: [String] = []
        var total = 0
        for path in matchingFiles(experiment.artifacts) {
            guard (try? Confinement.resolve(path, under: root, what: path)) != nil else {
                skipped.append("\(path) (a link out of the work tree)")
                continue
            }
            var info = stat()
            guard stat(root + "/" + path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            let identity = [Int(info.st_ino), Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
            guard unchanged[path] != identity else { continue }
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
        return try storedFiles(tree, of: run).map { Artifact(path: $0.path.joined(separator: "/"), size: try repository.blob($0.blob).count) }
    }

    /// Writes a run's artifacts under `directory` (created when missing). Before writing anything,
    /// refuses an entry that could land outside `directory` (`..`, `/`, a symbolic link) and a path
    /// that exists there or passes a symbolic link there. Returns what it wrote.
    public func restoreArtifacts(of run: RunEntry, to directory: String) throws -> [Artifact] {
        guard let tree = try artifactTree(of: run) else {
            throw AutoresearchError("run \(run.record.run) has no artifacts",
                                    hint: "artifacts are stored for experiments with 'artifact' globs (git autoresearch init --artifact 'metrics.json')")
        }
        let files = try storedFiles(tree, of: run)
        let output = try ConfinedDirectory(creating: directory)
        if let obstacle = files.lazy.compactMap({ output.obstacle(to: $0.path) }).first {
            throw AutoresearchError("\(obstacle); nothing was written", hint: "restore into an empty directory (--out DIR)")
        }
        var written: [Artifact] = []
        for file in files {
            let bytes = try repository.blob(file.blob)
            try output.write(bytes, at: file.path, permissions: file.mode == .executable ? 0o755 : 0o644)
            try noteToolOutput(bytes, at: directory + "/" + file.path.joined(separator: "/"))
            written.append(Artifact(path: file.path.joined(separator: "/"), size: bytes.count))
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

    /// The files of a run's artifact tree, each path as its components. A tree comes from whoever
    /// pushed the run: an entry that is not a plain file name, or not a file or directory, is an error.
    private func storedFiles(_ tree: OID, of run: RunEntry, prefix: [String] = []) throws -> [(path: [String], blob: OID, mode: FileMode)] {
        var files: [(path: [String], blob: OID, mode: FileMode)] = []
        for entry in try repository.entries(ofTree: tree) {
            let path = prefix + [entry.name]
            if let problem = ContainedPath.entryProblem(entry.name) {
                throw unsafeEntry(path, of: run, problem)
            }
            switch entry.mode {
            case .tree: files += try storedFiles(entry.id, of: run, prefix: path)
            case .blob, .executable: files.append((path, entry.id, entry.mode))
            case .link, .commit: throw unsafeEntry(path, of: run, "artifacts are regular files, this is a \(entry.mode == .link ? "symbolic link" : "submodule")")
            }
        }
        return files
    }

    private func unsafeEntry(_ path: [String], of run: RunEntry, _ problem: String) -> AutoresearchError {
        AutoresearchError("the artifacts of run \(run.record.run) hold an unsafe entry '\(path.joined(separator: "/"))': \(problem)",
                          hint: "nothing was written; the run's artifact tree was not made by git autoresearch")
    }
}

/// Byte counts as users read them.
public enum ByteCount {
    public static func format(_ bytes: Int) -> String {
        bytes < 1024 ? "\(bytes) B" : bytes < 1 << 20 ? String(format: "%.1f KiB", Double(bytes) / 1024)
            : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }
}
