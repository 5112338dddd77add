import Foundation
import Git
import Testing
import Fixtures

/// Stat data written back to the index: checked with `git diff-files`, which does not refresh
/// and so lists every file whose stat data differs from what the index caches.
@Suite struct IndexRefreshTests {
    /// A repository of `count` committed files, every one touched since (contents unchanged).
    func touchedRepository(files count: Int = 20) throws -> TempRepository {
        let repo = try TempRepository()
        try repo.commitFiles(Dictionary(uniqueKeysWithValues: (0..<count).map { ("src/f\($0).txt", "\($0)\n") }))
        try repo.git(["ls-files", "-z"]).split(separator: "\0").forEach { try repo.setModificationTime(of: String($0), secondsFromIndex: -2) }
        return repo
    }

    func staleFiles(_ repo: TempRepository) throws -> [String] {
        try repo.git(["diff-files", "--name-only"]).split(separator: "\n").map(String.init)
    }

    @Test func aRefreshWritesTheStatDataOfTouchedFilesBackOnce() throws {
        let repo = try touchedRepository()
        #expect(try staleFiles(repo).count == 20)
        let repository = try Repository(path: repo.path)
        let status = try repository.workTreeStatus()
        #expect(status.entries.isEmpty && status.hasStaleStatData)
        #expect(try repository.refreshIndex())
        #expect(try staleFiles(repo).isEmpty)
        #expect(try !repository.workTreeStatus().hasStaleStatData)
        #expect(try !repository.refreshIndex(), "nothing left to refresh")
        #expect(try repo.gitLine("status", "--porcelain").isEmpty)
        try repo.fsck()
    }

    /// Files as new as the index (racily clean: written in the clock tick of the index write, as
    /// a checkout writes them) are read by every scan until the next write of the index makes
    /// them older than it: that is no stale stat data, and no refresh is asked for.
    @Test func racilyCleanFilesAreNotTakenForStaleStatData() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["a.txt": "1\n", "b.txt": "2\n"])
        // The index given the time of the newest entry it caches, as a write in the same tick gives it.
        let times = try repo.git(["ls-files", "--debug"]).split(separator: "\n").filter { $0.contains("mtime:") }
            .map { $0.split(separator: " ").last!.split(separator: ":").map { String($0) } }
        let newest = try #require(times.max { (Int($0[0])!, Int($0[1])!) < (Int($1[0])!, Int($1[1])!) })
        try runProgram("/usr/bin/touch", ["-d", "@\(newest[0]).\(String(repeating: "0", count: 9 - newest[1].count) + newest[1])", ".git/index"], in: repo.path)
        let status = try Repository(path: repo.path).workTreeStatus()
        #expect(status.entries.isEmpty && !status.hasStaleStatData)
        // One touched file among them is stale stat data again.
        try repo.setModificationTime(of: "b.txt", secondsFromIndex: -5)
        #expect(try Repository(path: repo.path).workTreeStatus().hasStaleStatData)
    }

    @Test func aModifiedFileOfTheSameSizeIsNotTakenForStaleStatData() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["a.txt": "1\n"])
        try repo.write("a.txt", "2\n")
        try repo.setModificationTime(of: "a.txt", secondsFromIndex: -2)
        let status = try Repository(path: repo.path).workTreeStatus()
        #expect(status.entries.map(\.path) == ["a.txt"] && !status.hasStaleStatData)
    }

    /// The racy-git case: an edit in the same clock tick as the index write, which keeps size and
    /// time. Only "an entry as new as the index is suspect" tells it; the refreshed index must
    /// keep it suspect (smudged), or git and the tool would take the edit for no change forever.
    @Test func anEditAsNewAsTheIndexStaysVisibleAfterARefresh() throws {
        let repo = try TempRepository()
        try repo.git(["config", "core.trustctime", "false"])
        try repo.commitFiles(["a.txt": "1\n", "b.txt": "b\n"])
        let past = "@1600000000.123456789"
        try runProgram("/usr/bin/touch", ["-d", past, "a.txt"], in: repo.path)
        try repo.git(["update-index", "--refresh"])
        try runProgram("/usr/bin/touch", ["-d", past, ".git/index"], in: repo.path)
        let handle = try #require(FileHandle(forUpdatingAtPath: repo.path + "/a.txt"))
        handle.write(Data("2\n".utf8))
        handle.closeFile()
        try runProgram("/usr/bin/touch", ["-d", past, "a.txt"], in: repo.path)
        try repo.setModificationTime(of: "b.txt", secondsFromIndex: -2)
        // Not `git status`: it would refresh and write the index itself.
        #expect(try staleFiles(repo) == ["a.txt", "b.txt"])

        let repository = try Repository(path: repo.path)
        #expect(try repository.refreshIndex())
        #expect(try staleFiles(repo) == ["a.txt"], "b.txt refreshed, a.txt still suspect")
        #expect(try repository.status().map(\.path) == ["a.txt"])
        #expect(try repo.gitLine("status", "--porcelain") == "M a.txt")
    }

    @Test func aRefreshLeavesAnIndexAnotherWriterHoldsAlone() throws {
        let repo = try touchedRepository(files: 3)
        let lock = repo.path + "/.git/index.lock"
        #expect(FileManager.default.createFile(atPath: lock, contents: nil))
        let before = try Data(contentsOf: URL(fileURLWithPath: repo.path + "/.git/index"))
        #expect(try !Repository(path: repo.path).refreshIndex())
        #expect(FileManager.default.fileExists(atPath: lock), "the other writer's lock stays")
        #expect(try Data(contentsOf: URL(fileURLWithPath: repo.path + "/.git/index")) == before)
        try FileManager.default.removeItem(atPath: lock)
        #expect(try staleFiles(repo).count == 3)
    }

    @Test func stagingTheChangesOfAStatusMatchesGitAddAll() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["keep.txt": "k\n", "edit.txt": "1\n", "gone.txt": "g\n"])
        try repo.write("edit.txt", "2\n")
        try repo.write("new/dir/file.txt", "n\n")
        try FileManager.default.removeItem(atPath: repo.path + "/gone.txt")
        let repository = try Repository(path: repo.path)
        let changes = try repository.status()
        #expect(changes.allSatisfy { $0.isPlainChange })
        let tree = try repository.stage(changes)
        #expect(try repo.gitLine("write-tree") == tree.hex)
        try repo.git(["add", "-A"])
        #expect(try repo.gitLine("write-tree") == tree.hex)
        #expect(try repo.gitLine("diff-files", "--name-only").isEmpty)
    }
}
