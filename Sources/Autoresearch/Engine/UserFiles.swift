import Foundation
import Git

/// Which files of the work tree a run may take and remove. The user's files (untracked when a
/// loop started) and the tool's own outputs are left alone: no snapshot holds them, no discard
/// or repair removes them. Everything else that changed is the candidate's.
extension ExperimentContext {
    /// The paths left alone: `userFiles` (default: this loop's) and the tool's outputs.
    func pathsLeftAlone(userFiles: Set<String>? = nil) -> Set<String> {
        (userFiles ?? self.userFiles).union(workspace.toolOutputs())
    }

    /// The changes a candidate is made of: the work tree's status without the paths left alone.
    /// Stat data the scan found stale is written back to the index, so it is read once.
    /// `limitedTo`: the only paths that may have changed (`Repository.workTreeStatus(limitedTo:)`).
    func workTreeChanges(userFiles: Set<String>? = nil, limitedTo paths: [String]? = nil) throws -> [StatusEntry] {
        let leftAlone = pathsLeftAlone(userFiles: userFiles)
        restoreIndexMatch()
        let status = try repository.workTreeStatus(limitedTo: paths)
        if status.hasStaleStatData { try refreshIndex() }
        return status.entries.filter { !leftAlone.contains($0.path) }
    }

    /// The loop's user files, as the marker carries them for a repair (nil when there are none).
    var markedUserFiles: [String]? { userFiles.isEmpty ? nil : userFiles.sorted() }

    /// Takes the files untracked now as the user's for the rest of the loop.
    func adoptUntrackedFilesAsUsers() throws {
        userFiles = Set(try repository.status().filter(\.isUntracked).map(\.path)).subtracting(workspace.toolOutputs())
    }

    /// Says, once per loop or run, which files of the work tree the tool leaves alone.
    func announceFilesLeftAlone() throws {
        if !userFiles.isEmpty {
            events.notice("leaving alone \(userFiles.count) untracked file\(userFiles.count == 1 ? "" : "s") that were here before the loop (never part of a candidate, never removed): \(Workspace.listPaths(userFiles.sorted()))")
        }
        let outputs = workspace.toolOutputs()
        let written = try outputs.filter { try repository.isChanged(path: $0) }.sorted()
        if !written.isEmpty {
            events.notice("leaving alone what git-autoresearch wrote (never part of a candidate): \(Workspace.listPaths(written))")
        }
    }

    /// Puts the work tree back at `base` as a discard does, without committing anything: tracked
    /// files as in `base`, new files removed, the paths left alone untouched.
    func discardWorkTree(to base: OID) throws {
        try resetHard(to: base)
        for entry in try workTreeChanges() where entry.isUntracked {
            try FileManager.default.removeItem(atPath: root + "/" + entry.path)
            var directory = (entry.path as NSString).deletingLastPathComponent
            // Directories the removed files leave empty go too; rmdir fails on any other.
            while !directory.isEmpty, rmdir(root + "/" + directory) == 0 {
                directory = (directory as NSString).deletingLastPathComponent
            }
        }
    }

    /// After a discard in `run`, tells the person how to bring back the files of `candidate`
    /// that went from the work tree (new or changed since `base`).
    func sayHowToRestore(_ candidate: OID, base: OID) throws {
        let tree = try repository.commit(candidate).tree
        let paths = try repository.changedPaths(from: try repository.commit(base).tree, to: tree)
            .filter { try repository.entry(inTree: tree, path: $0) != nil }
        guard !paths.isEmpty else { return }
        let quoted = paths.map { path in
            path.allSatisfy { $0.isLetter || $0.isNumber || "._-/+@".contains($0) } ? path
                : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
        (events.mustSee ?? events.notice)("the work tree went back to the best commit \(base.short); to bring back the \(paths.count) file\(paths.count == 1 ? "" : "s") this run evaluated: git restore --source=\(candidate.short) -- \(quoted.joined(separator: " "))")
    }
}
