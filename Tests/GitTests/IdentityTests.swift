import Fixtures
import Foundation
@testable import Git
import Testing

@Suite struct IdentityTests {
    @Test(arguments: [
        ("@1700000000 +0100", 1_700_000_000, 60),
        ("1700000000 -0530", 1_700_000_000, -330),
        ("2023-11-14T22:13:20Z", 1_700_000_000, 0),
        ("2023-11-14 23:13:20 +0100", 1_700_000_000, 60),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000, 60),
        ("Tue, 14 Nov 2023 23:13:20 +0100", 1_700_000_000, 60),
        ("14 Nov 2023 22:13:20 +0000", 1_700_000_000, 0),
    ])
    func gitsDateFormatsAreRead(text: String, seconds: Int64, offset: Int32) {
        let parsed = GitDate.parse(text)
        #expect(parsed?.seconds == seconds && parsed?.offsetMinutes == offset, "\(text): \(String(describing: parsed))")
    }

    @Test(arguments: ["yesterday", "2023-13-40T00:00:00Z", "@12ab", "Tue, 14 Foo 2023 23:13:20 +0100", "1700000000 +01"])
    func otherTextIsNoDate(text: String) {
        #expect(GitDate.parse(text) == nil)
    }

    @Test func authorAndCommitterFollowGitsOrder() throws {
        let repo = try TempRepository()
        try repo.git(["config", "author.name", "Configured Author"])
        let repository = try Repository(path: repo.path)
        let tree = try repository.indexTree()
        let commit = try repository.createCommit(tree: tree, parents: [], message: "m\n")
        #expect(try repo.gitLine("log", "-1", "--format=%an|%ae|%cn|%ce", commit.hex) == "Configured Author|test@example.com|Test|test@example.com")
    }
}
