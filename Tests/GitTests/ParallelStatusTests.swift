import Foundation
import Clibgit2
@testable import Git
import Testing
import Fixtures

/// What a large work tree gets: its status scanned on two threads
/// (`workTreeStatus(parallelScanFrom:)`) is the status scanned on one, whatever the tree holds where
/// the cut between the halves falls; a reset that checks out only what changed
/// (`resetHard(to:limitingCheckoutFrom:)`) leaves what `git reset --hard` leaves.
@Suite struct ParallelStatusTests {
    /// Names that share prefixes (`d1`, `d1.txt`, `d10`), changes of every kind on both sides of
    /// the cut, untracked and ignored files and directories, a directory gone from disk.
    static func trickyRepository() throws -> TempRepository {
        let repo = try TempRepository()
        var files: [String: String] = [".gitignore": "build/\n", "a.txt": "a\n", "z.txt": "z\n", "src/.gitignore": "*.tmp\n",
                                       "src/d1.txt": "x\n", "gone/one.txt": "1\n", "gone/two.txt": "2\n"]
        for directory in ["d1", "d10", "d2", "d3"] {
            for file in 0..<6 { files["src/\(directory)/f\(file).py"] = "\(directory) \(file)\n" }
        }
        try repo.commitFiles(files)
        try repo.git(["rm", "-q", "--cached", "src/d3/f0.py"])
        try repo.write("src/d1/f0.py", "changed\n")
        try repo.write("src/d1/new.py", "new\n")
        try repo.write("src/d1/t.tmp", "ignored\n")
        try FileManager.default.removeItem(atPath: repo.path + "/src/d10/f1.py")
        try FileManager.default.removeItem(atPath: repo.path + "/gone")
        try repo.write("src/d2/f2.py", "staged\n")
        try repo.git(["add", "src/d2/f2.py"])
        try repo.write("src/d2/f2.py", "and changed again\n")
        try repo.write("newdir/deep/y.txt", "untracked\n")
        try repo.write("build/out.o", "ignored\n")
        try repo.write("a.txt", "a2\n")
        chmod(repo.path + "/z.txt", 0o755)
        return repo
    }

    @Test func twoThreadsFindWhatOneFinds() throws {
        let repo = try Self.trickyRepository()
        let repository = try Repository(path: repo.path)
        let one = try repository.workTreeStatus(parallelScanFrom: .max)
        #expect(repository.statusHelperHandle == nil)
        let two = try repository.workTreeStatus(parallelScanFrom: 1)
        let helper = try #require(repository.statusHelperHandle, "the tree was not cut in two")
        // The second handle works with this handle's index object, which stays this handle's.
        var index: OpaquePointer?, helperIndex: OpaquePointer?
        #expect(git_repository_index(&index, repository.pointer) == 0 && git_repository_index(&helperIndex, helper.pointer) == 0)
        #expect(index == helperIndex && git_index_owner(index) == repository.pointer)
        git_index_free(index)
        git_index_free(helperIndex)
        #expect(two.entries == one.entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) })
        #expect(two.hasStaleStatData == one.hasStaleStatData)
        // What git lists, untracked files one by one.
        let porcelain = try repo.git(["status", "--porcelain", "--untracked-files=all", "--no-renames"])
        // (git lists a path deleted from the index and back as untracked twice, libgit2 once.)
        let gitPaths = Set(porcelain.split(separator: "\n").map { String($0.dropFirst(3)) })
        #expect(two.entries.map(\.path) == gitPaths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        // The second handle is kept, and sees the index as it is now.
        try repo.git(["add", "-A"])
        let staged = try repository.workTreeStatus(parallelScanFrom: 1).entries
        let single = try repository.workTreeStatus(parallelScanFrom: .max).entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        #expect(staged == single, "\(staged.map { "\($0.path) \($0.flags)" }) against \(single.map { "\($0.path) \($0.flags)" })")
        // Both threads compare with this handle's index, written by this handle since (the
        // second handle's own copy of the index, read once, is now out of date).
        _ = try repository.stageAll()
        try repo.write("src/d3/f5.py", "after the write\n")
        try repo.write("z.txt", "z2\n")
        let afterWrite = try repository.workTreeStatus(parallelScanFrom: 1).entries
        #expect(afterWrite == (try repository.workTreeStatus(parallelScanFrom: .max).entries))
        #expect(afterWrite.filter { $0.flags & GIT_STATUS_WT_MODIFIED.rawValue != 0 }.map(\.path) == ["src/d3/f5.py", "z.txt"])
    }

    /// A name that is not UTF-8 cannot be handed to libgit2 as a path of the cut (Swift's
    /// strings would change its bytes, and its changes would fall under neither half): the scan
    /// stays on one thread, and the change is in the status; a reset that would check out only
    /// what changed checks out everything, and puts the file back.
    @Test func aNameThatIsNotUTF8KeepsTheScanOnOneThread() throws {
        let repo = try TempRepository()
        var files: [String: String] = [:]
        for directory in ["d1", "d2"] {
            for file in 0..<4 { files["src/\(directory)/f\(file).py"] = "\(file)\n" }
        }
        try repo.commitFiles(files)
        let name: [UInt8] = Array((repo.path + "/src/caf").utf8) + [0xE9, 0]
        func writeLatin1(_ text: String) {
            let file = name.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
            _ = text.withCString { write(file, $0, strlen($0)) }
            close(file)
        }
        writeLatin1("first\n")
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "-m", "a Latin-1 name"])
        let repository = try Repository(path: repo.path)
        let head = try #require(OID(hex: try repo.gitLine("rev-parse", "HEAD")))
        try repository.resetHard(to: head, limitingCheckoutFrom: .max)
        writeLatin1("changed\n")
        let two = try repository.workTreeStatus(parallelScanFrom: 1)
        #expect(repository.statusHelperHandle == nil)
        #expect(two.entries.count == 1, "\(two.entries)")
        #expect(two.entries == (try repository.workTreeStatus(parallelScanFrom: .max).entries))
        try repository.resetHard(to: head, limitingCheckoutFrom: 0)
        #expect(try repo.git(["status", "--porcelain"]) == "")
    }

    /// Each path of the tree is under exactly one half, and neither half is empty.
    @Test func theHalvesCoverTheTreeOnce() throws {
        let repo = try Self.trickyRepository()
        let repository = try Repository(path: repo.path)
        var index: OpaquePointer?
        #expect(git_repository_index(&index, repository.pointer) == 0)
        defer { git_index_free(index) }
        let (first, second) = try #require(try repository.halves(of: index, workdir: repo.path + "/"))
        #expect(!first.isEmpty && !second.isEmpty)
        let everyPath = try (repo.git(["ls-files", "--cached", "--others"]) + repo.git(["ls-tree", "-r", "--name-only", "HEAD"]))
            .split(separator: "\n").map(String.init)
        for path in everyPath {
            let holders = (first + second).filter { path == $0 || path.hasPrefix($0 + "/") }
            #expect(holders.count == 1, "\(path): \(holders)")
        }
    }

    /// From a candidate the index holds (as after a snapshot), with the changes an evaluation
    /// might make on disk: a reset checking out only what changed, and `git reset --hard` in a
    /// copy of the repository, leave the same index, work tree and reflog.
    /// `trickyRepository()` committed as a base, then a candidate on it that changes a file,
    /// adds one in a new directory, removes a directory and a file, and makes a file executable.
    static func baseAndCandidate() throws -> (repo: TempRepository, base: OID, candidate: OID) {
        let repo = try trickyRepository()
        try repo.write("only-in-base.txt", "base\n")
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "-m", "base"])
        let base = try #require(OID(hex: try repo.gitLine("rev-parse", "HEAD")))
        try repo.write("src/d1/f1.py", "candidate\n")
        try repo.write("src/d4/added.py", "candidate\n")
        try repo.git(["rm", "-q", "-r", "src/d10", "only-in-base.txt"])
        chmod(repo.path + "/src/d2/f3.py", 0o755)
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "-m", "candidate"])
        return (repo, base, try #require(OID(hex: try repo.gitLine("rev-parse", "HEAD"))))
    }

    @Test(arguments: [0, Int.max]) func aLimitedResetLeavesWhatGitsResetLeaves(threshold: Int) throws {
        let (repo, base, candidate) = try Self.baseAndCandidate()
        let repository = try Repository(path: repo.path)
        try repository.resetHard(to: candidate, limitingCheckoutFrom: .max)
        #expect(repository.indexMatch?.tree.hex == (try repo.gitLine("rev-parse", "HEAD^{tree}")))
        // What an evaluation leaves: a tracked file changed, one deleted, one made executable, an
        // untracked file where the base has one, an untracked file elsewhere.
        try repo.write("src/d2/f3.py", "evaluation\n")
        try FileManager.default.removeItem(atPath: repo.path + "/src/d3/f4.py")
        chmod(repo.path + "/src/d1/f2.py", 0o755)
        try repo.write("src/d10/f2.py", "untracked in the way\n")
        try repo.write("results/out.txt", "untracked\n")
        let twin = TempRepository(adopting: repo.path + "-twin")
        #expect(try runProgram("/bin/cp", ["-a", repo.path, twin.path], in: "/").status == 0)
        let untracked = try repository.resetHard(to: base, limitingCheckoutFrom: threshold)
        try twin.git(["reset", "-q", "--hard", base.hex])
        // What the reset says it saw beside the base's files: git's untracked files, each under one path it names.
        let gitsUntracked = try twin.git(["ls-files", "--others", "--exclude-standard"]).split(separator: "\n").map(String.init)
        #expect(!gitsUntracked.isEmpty)
        let covers = { (named: String, file: String) in named == file || (named.hasSuffix("/") && file.hasPrefix(named)) }
        for file in gitsUntracked { #expect(untracked.contains { covers($0, file) }, "\(file) not in \(untracked)") }
        for named in untracked { #expect(gitsUntracked.contains { covers(named, $0) }, "\(named) is no untracked file: \(gitsUntracked)") }
        for arguments in [["ls-files", "-s"], ["status", "--porcelain", "--ignored", "--untracked-files=all"],
                          ["reflog", "-1", "--format=%H %gs", "main"], ["reflog", "-1", "--format=%H %gs", "HEAD"]] {
            #expect(try repo.git(arguments) == (try twin.git(arguments)), "git \(arguments.joined(separator: " "))")
        }
        #expect(try Self.contents(of: repo.path) == (try Self.contents(of: twin.path)))
        #expect(repository.indexMatch?.tree.hex == (try repo.gitLine("rev-parse", "HEAD^{tree}")))
        try repo.fsck()
    }

    /// Every file, link and directory under `directory` but `.git`, with its mode and contents.
    static func contents(of directory: String) throws -> [String: String] {
        var files: [String: String] = [:]
        let walk = try #require(FileManager.default.enumerator(atPath: directory))
        for case let path as String in walk where !path.hasPrefix(".git") {
            var status = stat()
            guard lstat(directory + "/" + path, &status) == 0 else { continue }
            switch status.st_mode & S_IFMT {
            case S_IFREG: files[path] = String(status.st_mode, radix: 8) + " " + (try String(contentsOfFile: directory + "/" + path, encoding: .utf8))
            case S_IFDIR: files[path + "/"] = "directory"
            case S_IFLNK: files[path] = "link to " + (try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + path))
            default: files[path] = "other"
            }
        }
        return files
    }
}
