import Foundation
import Git
import Testing
import Fixtures

@Suite struct MergeAndCheckoutTests {
    /// `main` at base + a change to a.txt; `side` at base + a change to b.txt (or to a.txt).
    private func divergedRepository(conflicting: Bool) throws -> (repo: TempRepository, main: OID, side: OID) {
        let repo = try TempRepository()
        try repo.commitFiles(["a.txt": "a\n", "b.txt": "b\n"], message: "base")
        try repo.git(["switch", "-q", "-c", "side"])
        let side = try repo.commitFiles(conflicting ? ["a.txt": "side\n"] : ["b.txt": "side\n"], message: "side")
        try repo.git(["switch", "-q", "main"])
        let main = try repo.commitFiles(["a.txt": "main\n"], message: "main")
        return (repo, try #require(OID(hex: main)), try #require(OID(hex: side)))
    }

    @Test func mergesTreesInMemoryOrListsTheConflicts() throws {
        let clean = try divergedRepository(conflicting: false)
        let repository = try Repository(path: clean.repo.path)
        guard case .tree(let tree) = try repository.mergeTrees(ours: clean.main, theirs: clean.side) else {
            Issue.record("a merge without conflicts must give a tree")
            return
        }
        #expect(try clean.repo.gitLine("show", "\(tree.hex):a.txt") == "main")
        #expect(try clean.repo.gitLine("show", "\(tree.hex):b.txt") == "side")
        #expect(try clean.repo.gitLine("rev-parse", "main") == clean.main.hex)
        #expect(try clean.repo.gitLine("status", "--porcelain") == "")

        let conflicted = try divergedRepository(conflicting: true)
        #expect(try Repository(path: conflicted.repo.path).mergeTrees(ours: conflicted.main, theirs: conflicted.side) == .conflicts(["a.txt"]))
        #expect(try conflicted.repo.gitLine("status", "--porcelain") == "")
    }

    @Test func checksOutSafelyAndBack() throws {
        let (repo, main, side) = try divergedRepository(conflicting: false)
        let repository = try Repository(path: repo.path)
        let mainTree = try repository.commit(main).tree, sideTree = try repository.commit(side).tree
        try repo.write("untracked.txt", "mine\n")

        #expect(try repository.checkoutSafely(side, from: mainTree).isEmpty)
        #expect(repo.read("a.txt") == "a\n")
        #expect(repo.read("b.txt") == "side\n")
        #expect(try repository.checkoutSafely(main, from: sideTree).isEmpty)
        #expect(try repo.gitLine("status", "--porcelain") == "?? untracked.txt")

        try repo.write("b.txt", "edited\n")
        #expect(try repository.checkoutSafely(side, from: mainTree) == ["b.txt"])
        #expect(repo.read("b.txt") == "edited\n")
        #expect(repo.read("a.txt") == "main\n")
    }

    @Test func knowsWhereABranchIsCheckedOut() throws {
        let (repo, _, _) = try divergedRepository(conflicting: false)
        let other = repo.path + "-worktree"
        defer { try? FileManager.default.removeItem(atPath: other) }
        try repo.git(["worktree", "add", "-q", other, "side"])
        try repo.git(["branch", "idle", "main"])
        let repository = try Repository(path: repo.path)
        #expect(try repository.isCheckedOut(branch: "refs/heads/main"))
        #expect(try repository.isCheckedOut(branch: "refs/heads/side"))
        #expect(try !repository.isCheckedOut(branch: "refs/heads/idle"))
    }
}
