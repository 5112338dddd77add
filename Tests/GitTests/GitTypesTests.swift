import Foundation
import Git
import Testing
import Fixtures

@Suite struct GitTypesTests {
    @Test func fileModesRoundTripThroughTrees() throws {
        let repo = try TempRepository()
        let commit = try #require(OID(hex: try repo.commitFiles(["a": "1\n"])))
        let repository = try Repository(path: repo.path)
        let blob = try repository.createBlob(Array("x\n".utf8))
        let subtree = try repository.writeTree(entries: [("inner", blob, .blob)])
        let written: [(name: String, id: OID, mode: FileMode)] = [
            ("file", blob, .blob), ("link", blob, .link), ("run", blob, .executable), ("sub", commit, .commit), ("tree", subtree, .tree),
        ]
        let tree = try repository.writeTree(entries: written)
        let read = try repository.entries(ofTree: tree)
        #expect(read.map(\.name) == written.map(\.name))
        #expect(read.map(\.mode) == written.map(\.mode))
        #expect(try repo.git(["ls-tree", tree.hex]).split(separator: "\n").map { String($0.prefix(6)) }
                    == ["100644", "120000", "100755", "160000", "040000"])
        #expect(try repository.entry(inTree: tree, path: "sub")?.mode == .commit)
    }

    @Test func unusualModesWrittenByGitReadAsTheNearestCanonicalMode() throws {
        let repo = try TempRepository()
        let commit = try repo.commitFiles(["a": "1\n"])
        let blob = try repo.gitLine("rev-parse", "HEAD:a")
        try repo.write("listing", "100664 blob \(blob)\tgroup-writable\n100775 blob \(blob)\tgroup-executable\n160000 commit \(commit)\tsubmodule\n")
        let made = try runProgram("/bin/sh", ["-c", "git mktree < listing"], in: repo.path)
        #expect(made.status == 0)
        let tree = try #require(OID(hex: made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let repository = try Repository(path: repo.path)
        let modes = try repository.entries(ofTree: tree).map(\.mode)
        #expect(modes == [.executable, .blob, .commit])
        let copy = try repository.writeTree(entries: try repository.entries(ofTree: tree))
        #expect(try repo.git(["ls-tree", copy.hex]).split(separator: "\n").map { String($0.prefix(6)) } == ["100755", "100644", "160000"])
    }

    @Test func errorsCarryTheirCodeAndClass() throws {
        let repo = try TempRepository()
        let first = try #require(OID(hex: try repo.commitFiles(["a": "1\n"])))
        let second = try #require(OID(hex: try repo.commitFiles(["a": "2\n"])))
        let repository = try Repository(path: repo.path)
        do {
            _ = try repository.isCheckedOut(branch: "refs/heads/missing")
            Issue.record("looking up a missing branch must fail")
        } catch let error as GitError {
            #expect(error.code == .notFound && error.isNotFound)
            #expect(error.errorClass == .reference)
            #expect(error.description.contains("(libgit2 error -3 notFound, class reference)"))
        }
        do {
            try repository.setReference("refs/heads/main", to: second, expecting: .value(first), message: "stale")
            Issue.record("a compare-and-swap with the wrong old value must fail")
        } catch let error as GitError {
            #expect(error.code == .modified && error.isModified)
        }
    }

    @Test func errorCodesMapBothWaysAndKeepUnknownValues() {
        #expect(GitError.Code(rawValue: -1) == .generic)
        #expect(GitError.Code(rawValue: -36) == .owner)
        #expect(GitError.Code.iterationOver.rawValue == -31)
        #expect(GitError.Code(rawValue: -99) == .other(-99))
        #expect(GitError.Code.other(-99).rawValue == -99)
        #expect(GitError.ErrorClass(rawValue: 4) == .reference)
        #expect(GitError.ErrorClass.internal.rawValue == 35)
        #expect(GitError.ErrorClass(rawValue: 99) == .other(99))
    }

    @Test func referenceNamesAreValidatedAsGitDoes() throws {
        let repo = try TempRepository()
        let names = ["refs/heads/main", "refs/heads/autoresearch/x", "refs/notes/autoresearch", "refs/heads/a..b",
                     "refs/heads/x.lock", "refs/heads/a b", "refs/heads/a~1", "refs/heads/a:b", "refs/heads/.hidden",
                     "refs/heads/a//b", "refs/heads/a/", "refs/heads/@{x}", "refs/heads/a\\b", "refs/heads/ok-1_2"]
        for name in names {
            let gitAccepts = try runProgram("/usr/bin/git", ["check-ref-format", name], in: repo.path).status == 0
            #expect((ReferenceName(validating: name) != nil) == gitAccepts, "\(name)")
        }
        #expect(ReferenceName(validating: "refs/heads/a..b") == nil)
        #expect(ReferenceName(validating: "refs/heads/x.lock") == nil)
        #expect(ReferenceName(validating: "refs/heads/main") == "refs/heads/main")
    }

    @Test func referenceNamesKnowBranches() {
        let main = ReferenceName(branch: "main")
        #expect(main == "refs/heads/main" && ReferenceName(branch: "refs/heads/main") == main)
        #expect(main.isBranch && main.shortBranchName == "main")
        let notes: ReferenceName = "refs/notes/autoresearch"
        #expect(!notes.isBranch && notes.shortBranchName == "refs/notes/autoresearch")
        #expect(ReferenceName("refs/heads/autoresearch").appending("x") == "refs/heads/autoresearch/x")
        #expect(main.hasPrefix("refs/heads/") && !main.hasPrefix("refs/notes/"))
        #expect(main < notes && "\(main)" == "refs/heads/main")
    }
}
