import Foundation
import Git
import Testing
import Fixtures

@Suite struct RepositoryTests {
    @Test func opensAndDiscoversRepositoriesMadeByGit() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["src/a.txt": "a\n"])
        let opened = try Repository(discoveringFrom: repo.path + "/src")
        #expect(opened.workdir == repo.path + "/")
        #expect(opened.gitDirectory == repo.path + "/.git/")
        let head = try opened.head()
        #expect(head == .branch("refs/heads/main", target: OID(hex: try repo.gitLine("rev-parse", "HEAD"))))
    }

    /// The snapshot writes the index as a tree with libgit2's object check suspended: the tree
    /// must be git's, and the check must be back on for everything else.
    @Test func stagingWritesGitsTreeAndLeavesTheObjectCheckOn() throws {
        let repo = try TempRepository()
        try repo.commitFiles(Dictionary(uniqueKeysWithValues: (0..<30).map { ("src/d\($0 % 3)/f\($0).txt", "\($0)\n") }))
        try repo.write("src/d1/f1.txt", "changed\n")
        try repo.write("new.txt", "new\n")
        try FileManager.default.removeItem(atPath: repo.path + "/src/d2/f2.txt")
        let repository = try Repository(path: repo.path)
        let tree = try repository.stage(try repository.workTreeStatus().entries)
        #expect(tree.hex == (try repo.gitLine("write-tree")))
        // A tree naming a missing object is refused again. The check is process-wide, and tests
        // snapshotting in other threads suspend it for moments: asked a few times.
        let missing = OID(hex: String(repeating: "ab", count: 20))!
        let refused = (0..<50).contains { _ in
            if (try? repository.writeTree(entries: [("ghost", missing, FileMode.blob)])) == nil { return true }
            usleep(10_000)
            return false
        }
        #expect(refused, "a tree naming a missing object was written: the check stayed off")
    }

    /// Staged onto an index known to hold HEAD's tree, the tree is HEAD's with the staged paths'
    /// entries (`tree(of:stagedIn:onto:)`): git's tree of the same index, for changes of every
    /// kind, a file that became a directory and a directory that became a file among them.
    @Test func stagingOntoHeadWritesGitsTree() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["top.txt": "top\n", "src/a.py": "a\n", "src/b.py": "b\n", "src/deep/c.py": "c\n", "z.txt": "z\n",
                              "d/only.txt": "only\n", "gone/one.txt": "one\n", "keep/k.txt": "k\n"])
        let repository = try Repository(path: repo.path)
        try repository.resetHard(to: try #require(OID(hex: try repo.gitLine("rev-parse", "HEAD"))))
        try repo.write("top.txt", "top changed\n")
        try repo.write("src/deep/c.py", "c changed\n")
        #expect(chmod(repo.path + "/src/b.py", 0o755) == 0)
        try repo.write("new/nested/dirs/n.txt", "new\n")
        try repo.write("src/a[1]*.py", "glob characters\n")
        try FileManager.default.removeItem(atPath: repo.path + "/gone")
        try FileManager.default.removeItem(atPath: repo.path + "/z.txt")
        try repo.write("z.txt/inner.txt", "a directory now\n")
        try FileManager.default.removeItem(atPath: repo.path + "/d")
        try repo.write("d", "a file now\n")
        #expect(symlink("top.txt", repo.path + "/link") == 0)
        let changes = try repository.workTreeStatus().entries
        #expect(changes.count == 11, "\(changes.map(\.path))")
        let tree = try repository.stage(changes)
        #expect(tree.hex == (try repo.gitLine("write-tree")))
        #expect(repository.indexMatch?.tree == tree)
        #expect(try repo.git(["ls-tree", "-r", tree.hex]).contains("120000 blob"))
        try repo.git(["commit", "-q", "-m", "staged"])
        #expect(try repo.gitLine("rev-parse", "HEAD^{tree}") == tree.hex)
        #expect(try repo.git(["status", "--porcelain"]).isEmpty)
        try repo.fsck()
    }

    /// An index entry can name any id (`update-index --cacheinfo`, kept by `--skip-worktree`):
    /// staging refuses it, naming the path, before any tree naming the missing blob is written
    /// (`git fsck` stays clean once the entry is gone, as after `git write-tree`'s refusal).
    @Test func aStagedEntryNamingAMissingBlobIsRefusedBeforeATreeIsWritten() throws {
        let repo = try TempRepository()
        let head = try #require(OID(hex: try repo.commitFiles(["a.txt": "a\n", "link": "a.txt"])))
        let repository = try Repository(path: repo.path)
        // The index vouched for first (`indexMatch`): the entry added after must still be checked.
        try repository.resetHard(to: head)
        try repo.write("ghost.txt", "on disk\n")
        try repo.git(["update-index", "--add", "--cacheinfo", "100644,\(String(repeating: "12", count: 20)),ghost.txt"])
        try repo.git(["update-index", "--skip-worktree", "ghost.txt"])
        try repo.write("a.txt", "changed\n")
        for stage in [{ try repository.stage(try repository.workTreeStatus().entries) }, { try repository.stageAll() }] {
            let error = try #require(throws: GitError.self) { _ = try stage() }
            #expect(error.message.contains("'ghost.txt'") && error.message.contains("git update-index --force-remove -- 'ghost.txt'"), "\(error)")
        }
        try repo.git(["update-index", "--force-remove", "--", "ghost.txt"])
        try repo.fsck()
        #expect(try repository.stage(try repository.workTreeStatus().entries).hex == (try repo.gitLine("write-tree")))
    }

    /// The paths two trees differ in are `git diff --name-only`'s, however the questions alternate
    /// (the last answer is remembered).
    @Test func changedPathsAreGitsNamesOnlyInAnyOrderOfQuestions() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["a.txt": "a\n", "src/b.txt": "b\n", "src/c.txt": "c\n"])
        try repo.commitFiles(["src/b.txt": "b2\n", "d.txt": "d\n"])
        try repo.git(["rm", "-q", "a.txt"])
        try repo.git(["commit", "-q", "-m", "remove a"])
        let trees = try ["HEAD~2", "HEAD~1", "HEAD"].map { OID(hex: try repo.gitLine("rev-parse", $0 + "^{tree}"))! }
        let repository = try Repository(path: repo.path)
        for (old, new) in [(0, 1), (0, 1), (1, 2), (0, 2), (0, 1), (2, 0), (1, 1)] {
            let expected = try repo.git(["diff", "--name-only", trees[old].hex, trees[new].hex]).split(separator: "\n").map(String.init)
            #expect(try repository.changedPaths(from: trees[old], to: trees[new]) == expected, "\(old) to \(new)")
        }
    }

    /// Trees are written in git's order (a tree's name sorts as if it ended in "/"): the ids
    /// `git mktree` gives the same entries, and `git fsck` clean.
    @Test func treesAreWrittenInGitsOrder() throws {
        let repo = try TempRepository()
        let head = try #require(OID(hex: try repo.commitFiles(["f.txt": "f\n"])))
        let repository = try Repository(path: repo.path)
        let blob = try repository.createBlob(Array("content\n".utf8))
        let subtree = try repository.writeTree(entries: [("inner", blob, .blob)])
        let entries: [(name: String, id: OID, mode: FileMode)] = [
            ("a0", blob, .blob), ("a", subtree, .tree), ("a.b", blob, .executable), ("a-b", blob, .blob), ("ab", subtree, .tree),
            ("b-c", blob, .link), ("b", subtree, .tree), ("sub", head, .commit), ("\u{e9}t\u{e9}", blob, .blob), ("Z", blob, .blob)]
        let tree = try repository.writeTree(entries: entries)
        let types: [FileMode: String] = [.blob: "blob", .executable: "blob", .link: "blob", .tree: "tree", .commit: "commit"]
        let listing = entries.map { "\(String($0.mode.rawValue, radix: 8)) \(types[$0.mode]!) \($0.id.hex)\t\($0.name)\n" }.joined()
        try repo.write(".git/listing", listing)
        #expect(try runProgram("/bin/sh", ["-c", "git mktree < .git/listing"], in: repo.path).stdout == tree.hex + "\n")
        #expect(try repo.git(["-c", "core.quotepath=false", "ls-tree", "--name-only", tree.hex]).split(separator: "\n") == ["Z", "a-b", "a.b", "a", "a0", "ab", "b-c", "b", "sub", "\u{e9}t\u{e9}"])
        try repo.fsck()
    }

    /// A repository that borrows objects from another (`objects/info/alternates`, as
    /// `git clone --reference` makes) writes its new objects in its own directory, never the other's.
    @Test func newObjectsGoToTheRepositorysOwnDirectoryWithAlternates() throws {
        let lender = try TempRepository()
        try lender.commitFiles(["shared.txt": "shared\n"])
        let borrower = try TempRepository()
        try borrower.write(".git/objects/info/alternates", lender.path + "/.git/objects\n")
        let repository = try Repository(path: borrower.path)
        let shared = try repository.createBlob(Array("shared\n".utf8))
        let new = try repository.createBlob(Array("new in the borrower\n".utf8))
        let loose = { (repo: TempRepository, id: OID) in
            FileManager.default.fileExists(atPath: "\(repo.path)/.git/objects/\(id.hex.prefix(2))/\(id.hex.dropFirst(2))")
        }
        #expect(loose(lender, shared) && !loose(borrower, shared))
        #expect(loose(borrower, new) && !loose(lender, new))
        #expect(try borrower.gitLine("cat-file", "-p", new.hex) == "new in the borrower")
        try borrower.fsck()
    }

    @Test func writesObjectsInOnePackWhatACommitReaches() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["a.txt": "a\n"])
        let (commit, orphan) = try Repository.writingOnePack(at: repo.path) { repository in
            let blobs = try (0..<50).map { try repository.createBlob(Array("note \($0)\n".utf8)) }
            let tree = try repository.writeTree(entries: blobs.enumerated().map { ("n\($0.offset)", $0.element, FileMode.blob) })
            let commit = try repository.createCommit(tree: tree, parents: [], message: "packed\n")
            try repository.setReference("refs/heads/packed", to: commit, message: "test")
            return (commit, try repository.createBlob(Array("reached by no commit\n".utf8)))
        }
        #expect(try repo.gitLine("rev-parse", "refs/heads/packed") == commit.hex)
        #expect(try repo.git(["ls-tree", "packed"]).split(separator: "\n").count == 50)
        #expect(try repo.git(["count-objects", "-v"]).contains("packs: 1"))
        #expect(throws: (any Error).self) { try repo.git(["cat-file", "-e", orphan.hex]) }
        try repo.fsck()
    }

    @Test func knowsAShallowCloneFromAFullOne() throws {
        let origin = try TempRepository()
        try origin.commitFiles(["a.txt": "1\n"])
        try origin.commitFiles(["a.txt": "2\n"])
        let shallow = try TempRepository(cloneOf: "file://" + origin.path, depth: 1)
        #expect(try Repository(path: shallow.path).isShallow)
        #expect(try !Repository(path: origin.path).isShallow)
    }

    @Test func errorsCarryLibgit2CodeClassAndMessage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-repo-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try Repository(path: directory)
            Issue.record("opening a plain directory should fail")
        } catch let error as GitError {
            #expect(error.isNotFound)
            #expect(error.errorClass == .repository)
            #expect(error.message.contains("could not find repository"))
            #expect(error.description.contains("open repository"))
        }
    }

    @Test func opensARepositoryOwnedByAnotherUser() throws {
        guard getuid() == 0 else { return }  // needs root to hand the repository to another user
        let repo = try TempRepository()
        try repo.commitFiles(["a": "1\n"])
        let chown = try runProgram("/bin/chown", ["-R", "nobody", repo.path], in: "/")
        #expect(chown.status == 0)
        let opened = try Repository(path: repo.path)
        #expect(try opened.head().target != nil)
    }

    @Test func stagesAllChangesAndCommitsWhatGitReadsBack() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["keep.txt": "k\n", "gone.txt": "g\n", ".gitignore": "*.log\n"])
        try repo.write("keep.txt", "changed\n")
        try repo.write("new/file.txt", "new\n")
        try repo.write("ignored.log", "ignored\n")
        try FileManager.default.removeItem(atPath: repo.path + "/gone.txt")
        let repository = try Repository(path: repo.path)
        #expect(Set(try repository.status().map(\.path)) == ["keep.txt", "new/file.txt", "gone.txt"])
        let parent = try #require(try repository.head().target)
        let tree = try repository.stageAll()
        let commit = try repository.createCommit(tree: tree, parents: [parent], message: "snapshot\n")
        try repository.setReference("refs/heads/main", to: commit, expecting: .value(parent), message: "test")
        #expect(try repo.gitLine("rev-parse", "HEAD") == commit.hex)
        #expect(try repo.gitLine("log", "-1", "--format=%s") == "snapshot")
        #expect(try repo.gitLine("ls-tree", "-r", "--name-only", "HEAD") == ".gitignore\nkeep.txt\nnew/file.txt")
        #expect(try repo.gitLine("status", "--porcelain") == "")
        #expect(try repository.status().isEmpty)
        try repo.fsck()
    }

    @Test func stagingAllButExcludedPathsLeavesThemAsTheyWere() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["tracked.txt": "t\n", "mine.txt": "m\n", "other.txt": "o\n"])
        try repo.write("tracked.txt", "changed\n")
        try repo.write("mine.txt", "edited by the user\n")
        try repo.write("data/user.txt", "user\n")
        try repo.write("data/agent.txt", "agent\n")
        try FileManager.default.removeItem(atPath: repo.path + "/other.txt")
        let repository = try Repository(path: repo.path)
        let tree = try repository.stageAll(excluding: ["data/user.txt", "mine.txt"])
        let parent = try #require(try repository.head().target)
        let commit = try repository.createCommit(tree: tree, parents: [parent], message: "snapshot\n")
        #expect(try repo.gitLine("ls-tree", "-r", "--name-only", commit.hex) == "data/agent.txt\nmine.txt\ntracked.txt")
        #expect(try repo.gitLine("show", "\(commit.hex):mine.txt") == "m")
        let status = try repo.git(["status", "--porcelain", "--untracked-files=all"]).split(separator: "\n").map(String.init)
        #expect(Set(status) == ["A  data/agent.txt", " M mine.txt", "D  other.txt", "M  tracked.txt", "?? data/user.txt"])
    }

    @Test func compareAndSwapRefusesAStaleExpectation() throws {
        let repo = try TempRepository()
        let first = try #require(OID(hex: try repo.commitFiles(["a": "1\n"])))
        let second = try #require(OID(hex: try repo.commitFiles(["a": "2\n"])))
        let repository = try Repository(path: repo.path)
        try repository.setReference("refs/test/x", to: first, expecting: .absent, message: "create")
        #expect(throws: GitError.self) { try repository.setReference("refs/test/x", to: second, expecting: .absent, message: "again") }
        do {
            try repository.setReference("refs/test/x", to: second, expecting: .value(second), message: "stale")
            Issue.record("a stale compare-and-swap must fail")
        } catch let error as GitError {
            #expect(error.isModified)
        }
        try repository.setReference("refs/test/x", to: second, expecting: .value(first), message: "swap")
        #expect(try repo.gitLine("rev-parse", "refs/test/x") == second.hex)
        try repository.deleteReference("refs/test/x")
        #expect(try repository.referenceTarget("refs/test/x") == nil)
    }

    @Test func hardResetRemovesFilesOnlyTheOldTreeTrackedAndKeepsIgnoredOnes() throws {
        let repo = try TempRepository()
        let base = try #require(OID(hex: try repo.commitFiles([".gitignore": "cache/\n", "a.txt": "a\n"])))
        try repo.commitFiles(["added.txt": "x\n", "a.txt": "changed\n"])
        try repo.write("cache/data.bin", "ignored\n")
        let repository = try Repository(path: repo.path)
        try repository.resetHard(to: base)
        #expect(!repo.exists("added.txt"))
        #expect(repo.read("a.txt") == "a\n")
        #expect(repo.read("cache/data.bin") == "ignored\n")
        #expect(try repo.gitLine("rev-parse", "main") == base.hex)
        #expect(try repo.gitLine("status", "--porcelain") == "")
    }

    /// What the index held beyond what the checkout writes (a new file staged, a change staged
    /// while the file on disk is HEAD's, a file unstaged) goes too, as with `git reset --hard`, and
    /// the branch and HEAD get git's reflog entry.
    @Test func hardResetAlsoUndoesChangesStagedInTheIndexOnly() throws {
        let repo = try TempRepository()
        let base = try #require(OID(hex: try repo.commitFiles(["a.txt": "a\n", "b.txt": "b\n"])))
        try repo.commitFiles(["c.txt": "c\n"])
        try repo.write("new.txt", "new\n")
        try repo.write("a.txt", "staged\n")
        try repo.git(["add", "new.txt", "a.txt"])
        try repo.write("a.txt", "a\n")
        try repo.git(["rm", "-q", "--cached", "b.txt"])
        let repository = try Repository(path: repo.path)
        try repository.resetHard(to: base)
        #expect(try repo.git(["diff", "--cached", "--name-only", base.hex]) == "")
        #expect(try repo.gitLine("status", "--porcelain", "--untracked-files=no") == "")
        // As git does, a file the index tracked that the target lacks goes from the work tree.
        #expect(!repo.exists("c.txt") && !repo.exists("new.txt") && repo.read("a.txt") == "a\n" && repo.read("b.txt") == "b\n")
        for ref in ["main", "HEAD"] {
            #expect(try repo.gitLine("reflog", "-1", "--format=%H %gs", ref) == "\(base.hex) reset: moving to \(base.hex)")
        }
    }

    /// `indexMatch` names the index file's own checksum after a write, and a change staged by git
    /// afterwards (the file on disk put back as HEAD has it) is still in the status: the index's
    /// new checksum voids the match.
    @Test func theIndexMatchHoldsOnlyForTheIndexItWasRecordedFor() throws {
        let repo = try TempRepository()
        let head = try #require(OID(hex: try repo.commitFiles(["a.txt": "a\n", "src/b.txt": "b\n"])))
        let repository = try Repository(path: repo.path)
        func fileChecksum() throws -> String {
            let index = try #require(FileManager.default.contents(atPath: repo.path + "/.git/index"))
            return index.suffix(20).map { String(format: "%02x", $0) }.joined()
        }
        try repository.resetHard(to: head)
        #expect(repository.indexMatch?.checksum.hex == (try fileChecksum()))
        #expect(repository.indexMatch?.tree.hex == (try repo.gitLine("rev-parse", "HEAD^{tree}")))
        #expect(try repository.workTreeStatus().entries.isEmpty)
        try repo.write("src/b.txt", "staged\n")
        try repo.git(["add", "src/b.txt"])
        try repo.write("src/b.txt", "b\n")
        #expect(try repository.workTreeStatus().entries.map(\.path) == ["src/b.txt"])
        try repo.write("a.txt", "changed\n")
        let tree = try repository.stage(try repository.workTreeStatus().entries)
        #expect(repository.indexMatch?.checksum.hex == (try fileChecksum()) && repository.indexMatch?.tree == tree)
        #expect(repository.indexMatch.flatMap { IndexMatch(recorded: $0.recorded) } == repository.indexMatch)
        #expect(tree.hex == (try repo.gitLine("write-tree")))
    }

    @Test func treeEntriesAndTreeRewritesAlongAPath() throws {
        let repo = try TempRepository()
        try repo.commitFiles(["dir/sub/file.txt": "hello\n", "top.txt": "t\n"])
        let repository = try Repository(path: repo.path)
        let tree = try repository.commit(try #require(try repository.head().target)).tree
        let entry = try #require(try repository.entry(inTree: tree, path: "dir/sub/file.txt"))
        #expect(entry.kind == .blob)
        #expect(String(decoding: try repository.blob(entry.id), as: UTF8.self) == "hello\n")
        #expect(try repository.blobSize(entry.id) == Int(try repo.gitLine("cat-file", "-s", entry.id.hex)))
        #expect(try repository.entry(inTree: tree, path: "dir/missing") == nil)
        let blob = try repository.createBlob(Array("new\n".utf8))
        let rewritten = try #require(try repository.writeTree(base: tree, path: ["dir", "sub", "other.txt"], entry: (blob, .blob)))
        let removed = try #require(try repository.writeTree(base: rewritten, path: ["dir", "sub", "file.txt"], entry: nil))
        #expect(try repo.gitLine("ls-tree", "-r", "--name-only", removed.hex) == "dir/sub/other.txt\ntop.txt")
        #expect(try repo.gitLine("cat-file", "-t", removed.hex) == "tree")
    }
}
