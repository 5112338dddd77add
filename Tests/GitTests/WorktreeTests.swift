import Foundation
import Git
import Testing
import Fixtures

@Suite struct WorktreeTests {
    @Test func linkedWorkTreesAreAddedListedAndRemovedAsGitSeesThem() throws {
        let repo = try TempRepository()
        let tip = try repo.commitFiles(["a.txt": "a\n"])
        let repository = try Repository(path: repo.path)
        try repository.setReference("refs/heads/side", to: try #require(OID(hex: tip)), message: "test")
        let path = repo.path + "/.git/trees/one"
        try FileManager.default.createDirectory(atPath: repo.path + "/.git/trees", withIntermediateDirectories: true)
        try repository.addWorktree(name: "one", path: path, branch: "refs/heads/side")

        #expect(try repository.worktreeNames() == ["one"])
        #expect(try repository.worktreePath(name: "one") == path)
        #expect(try repository.worktreePath(name: "none") == nil)
        let listed = try repo.git(["worktree", "list", "--porcelain"])
        #expect(listed.contains("worktree \(path)\nHEAD \(tip)\nbranch refs/heads/side"), "\(listed)")
        #expect(FileManager.default.contents(atPath: path + "/a.txt") == Data("a\n".utf8))
        let linked = try Repository(discoveringFrom: path)
        #expect(try linked.head() == .branch("refs/heads/side", target: OID(hex: tip)))
        #expect(linked.commonDirectory == repo.path + "/.git/")

        try "changed\n".write(toFile: path + "/a.txt", atomically: true, encoding: .utf8)
        try repository.removeWorktree(name: "one")
        try repository.removeWorktree(name: "one")  // gone already: nothing to do
        #expect(try repository.worktreeNames().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try repo.git(["worktree", "list", "--porcelain"]).components(separatedBy: "worktree ").count == 2)
        try repo.fsck()
    }
}
