import Foundation
import Git
import Testing
import Fixtures

@Suite struct NotesTests {
    @Test func appendedNotesUseTwoLevelFanoutThatGitReads() throws {
        let repo = try TempRepository()
        var commits: [OID] = []
        for index in 0..<40 { commits.append(try #require(OID(hex: try repo.commitFiles(["f": "\(index)\n"])))) }
        let repository = try Repository(path: repo.path)
        for (index, commit) in commits.enumerated() {
            try repository.appendNote(ref: "refs/notes/test", on: commit, text: "line \(index)")
        }
        try repository.appendNote(ref: "refs/notes/test", on: commits[3], text: "second line")
        let listed = try repo.git(["notes", "--ref=test", "list"]).split(separator: "\n")
        #expect(listed.count == 40)
        #expect(try repo.gitLine("notes", "--ref=test", "show", commits[3].hex) == "line 3\nsecond line")
        let paths = try repo.git(["ls-tree", "-r", "--name-only", "refs/notes/test"]).split(separator: "\n")
        #expect(paths.allSatisfy { $0.split(separator: "/").map(\.count) == [2, 2, 36] })
        #expect(try repository.note(ref: "refs/notes/test", on: commits[39]) == "line 39\n")
        var seen = 0
        try repository.forEachNote(ref: "refs/notes/test") { _, _ in seen += 1 }
        #expect(seen == 40)
        try repo.fsck()
    }

    @Test func editingNotesWritesOneCommitThatGitReads() throws {
        let repo = try TempRepository()
        let commits = try (0..<3).map { index in try #require(OID(hex: try repo.commitFiles(["f": "\(index)\n"]))) }
        let repository = try Repository(path: repo.path)
        for commit in commits { try repository.appendNote(ref: "refs/notes/test", on: commit, text: "keep\ndrop") }
        // A note git wrote flat is found and moved to the fanout, like an appended one.
        try repo.git(["notes", "--ref=test", "add", "-f", "-m", "keep", commits[2].hex])
        let before = try repo.gitLine("rev-parse", "refs/notes/test")
        try repository.editNotes(ref: "refs/notes/test", on: [commits[0], commits[1], commits[2]], message: "edit") { commit, text in
            commit == commits[1] ? nil : text.replacingOccurrences(of: "drop\n", with: "") + "added\n"
        }
        #expect(try repo.gitLine("rev-list", "--count", "\(before)..refs/notes/test") == "1")
        #expect(try repo.gitLine("notes", "--ref=test", "show", commits[0].hex) == "keep\nadded")
        #expect(try repo.gitLine("notes", "--ref=test", "show", commits[2].hex) == "keep\nadded")
        #expect(try repo.git(["notes", "--ref=test", "list"]).split(separator: "\n").count == 2)
        // Nothing changed: no commit.
        let unchanged = try repository.editNotes(ref: "refs/notes/test", on: [commits[0]], message: "same") { _, text in text }
        #expect(unchanged.hex == (try repo.gitLine("rev-parse", "refs/notes/test")))
        #expect(try repo.gitLine("rev-list", "--count", "\(before)..refs/notes/test") == "1")
        try repo.fsck()
    }

    @Test func appendingToANoteGitWroteFlatMovesItWithoutDuplicates() throws {
        let repo = try TempRepository()
        let commit = try #require(OID(hex: try repo.commitFiles(["a": "1\n"])))
        try repo.git(["notes", "--ref=test", "add", "-m", "written by git", commit.hex])
        #expect(try repo.git(["ls-tree", "--name-only", "refs/notes/test"]).contains(commit.hex))
        let repository = try Repository(path: repo.path)
        try repository.appendNote(ref: "refs/notes/test", on: commit, text: "written by the wrapper")
        #expect(try repo.gitLine("notes", "--ref=test", "show", commit.hex) == "written by git\nwritten by the wrapper")
        #expect(try repo.git(["notes", "--ref=test", "list"]).split(separator: "\n").count == 1)
        try repo.git(["notes", "--ref=test", "append", "-m", "git again", commit.hex])
        #expect(try repository.note(ref: "refs/notes/test", on: commit) == "written by git\nwritten by the wrapper\n\ngit again\n")
    }

    @Test func concurrentWritersNeverLoseANote() async throws {
        let repo = try TempRepository()
        let commit = try #require(OID(hex: try repo.commitFiles(["a": "1\n"])))
        let path = repo.path
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    let repository = try Repository(path: path)
                    for index in 0..<15 { try repository.appendNote(ref: "refs/notes/test", on: commit, text: "w\(writer)-\(index)") }
                }
            }
            try await group.waitForAll()
        }
        let lines = try repo.git(["notes", "--ref=test", "show", commit.hex]).split(separator: "\n")
        #expect(lines.count == 60)
        #expect(Set(lines).count == 60)
    }
}

@Suite struct ConfigFileTests {
    @Test func readsAndWritesGitConfigSyntaxThatGitAgreesWith() throws {
        let repo = try TempRepository()
        let path = repo.path + "/.settings"
        let config = try ConfigFile(path: path)
        try config.set("experiment.lr-sweep.evaluate", "python train.py --fast")
        try config.setAll("experiment.lr-sweep.guard", ["evaluate.py", "data/*"])
        #expect(try config.string("experiment.lr-sweep.evaluate") == "python train.py --fast")
        #expect(try config.strings("experiment.lr-sweep.guard") == ["evaluate.py", "data/*"])
        #expect(try repo.gitLine("config", "-f", path, "--get-all", "experiment.lr-sweep.guard") == "evaluate.py\ndata/*")
        try repo.git(["config", "-f", path, "experiment.lr-sweep.metric", "val_bpb"])
        let reread = try ConfigFile(path: path)
        #expect(try reread.string("experiment.lr-sweep.metric") == "val_bpb")
        try reread.setAll("experiment.lr-sweep.guard", ["only.py"])
        #expect(try repo.gitLine("config", "-f", path, "--get-all", "experiment.lr-sweep.guard") == "only.py")
        try reread.remove("experiment.lr-sweep.guard")
        #expect(try reread.strings("experiment.lr-sweep.guard").isEmpty)
        #expect(try reread.string("experiment.none.key") == nil)
    }

    @Test func malformedFilesGiveAnErrorNamingTheFile() throws {
        let repo = try TempRepository()
        try repo.write("bad.cfg", "[experiment \"x\"\nevaluate = oops\n")
        #expect {
            _ = try ConfigFile(path: repo.path + "/bad.cfg")
        } throws: { error in
            (error as? GitError)?.description.contains("bad.cfg") == true
        }
    }
}
