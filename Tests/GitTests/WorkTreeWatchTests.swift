import Clibgit2
import Foundation
@testable import Git
import Testing
import Fixtures

/// What a `WorkTreeWatch` calls quiet: nothing a status would show changed. Every case is checked
/// against `git status` (a change the watch must see makes git's status differ).
@Suite struct WorkTreeWatchTests {
    /// A project with a tracked file, an ignored directory holding one tracked file (added with
    /// `-f`), an ignored log, and the user's untracked directory.
    static func project() throws -> (TempRepository, WorkTreeWatch) {
        let repo = try TempRepository()
        try repo.commitFiles([".gitignore": "build/\n*.log\n__pycache__/\n", "src/main.py": "print(1)\n", "README.md": "read me\n"])
        try repo.write("build/config.h", "#define X 1\n")
        try repo.git(["add", "-f", "build/config.h"])
        try repo.git(["commit", "-q", "-m", "a tracked file in an ignored directory"])
        try repo.write("notes/idea.txt", "the user's\n")
        try repo.write("run.log", "ignored\n")
        return (repo, try #require(WorkTreeWatch(try Repository(path: repo.path))))
    }

    @Test func changesToIgnoredPathsKeepItQuiet() throws {
        let (repo, watch) = try Self.project()
        let status = try repo.git(["status", "--porcelain"])
        #expect(watch.isQuiet())
        // Written in place: an atomic write's temporary file has a name nothing ignores.
        let writeInPlace = { (path: String, text: String) in
            try FileManager.default.createDirectory(atPath: repo.path + "/" + (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try text.write(toFile: repo.path + "/" + path, atomically: false, encoding: .utf8)
        }
        try writeInPlace("run.log", "more\n")
        try writeInPlace("build/out.o", "object\n")
        try writeInPlace("src/__pycache__/main.pyc", "an ignored new directory\n")
        #expect(watch.isQuiet())
        #expect(try repo.git(["status", "--porcelain"]) == status)
    }

    /// Each change git's status shows breaks a quiet period; a new one starts quiet.
    @Test(arguments: ["modify", "create", "remove", "rename", "chmod", "tracked in ignored", "user's directory", "new directory",
                      "gitignore", "touch", "mmap"])
    func aChangeGitsStatusShowsBreaksIt(change: String) throws {
        let (repo, watch) = try Self.project()
        let before = try repo.git(["status", "--porcelain", "-uall"])
        let path = { repo.path + "/" + $0 }
        switch change {
        case "modify": try repo.write("src/main.py", "print(2)\n")
        case "create": try repo.write("src/new.py", "new\n")
        case "remove": #expect(unlink(path("README.md")) == 0)
        case "rename": #expect(rename(path("src/main.py"), path("src/other.py")) == 0)
        case "chmod": #expect(chmod(path("src/main.py"), 0o755) == 0)
        case "tracked in ignored": try repo.write("build/config.h", "#define X 2\n")
        case "user's directory": try repo.write("notes/second.txt", "more of the user's\n")
        case "new directory": try repo.write("data/new.csv", "1,2\n")
        case "gitignore": try repo.write(".gitignore", "build/\n__pycache__/\n")
        case "mmap":
            // Written through a shared mapping after its descriptor is closed: no write event,
            // but the kernel reports the file closed after writing when the writer exits.
            let script = "import mmap, os\nd = os.open('src/main.py', os.O_RDWR)\nm = mmap.mmap(d, 0)\nos.close(d)\nm[0:5] = b'PRINT'\n"
            #expect(try runProgram("/usr/bin/python3", ["-c", script], in: repo.path).status == 0)
        default:
            // Times only: git's status shows nothing, but it reads the file again; a change for the watch.
            var times = [timespec(tv_sec: 1, tv_nsec: 0), timespec(tv_sec: 1, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path("src/main.py"), &times, 0) == 0)
        }
        if change != "touch" { #expect(try repo.git(["status", "--porcelain", "-uall"]) != before) }
        #expect(!watch.isQuiet())
        #expect(watch.startQuietPeriod() != nil)
        #expect(watch.isQuiet())
    }

    /// A directory created in one period is watched in the next: a file written into it then breaks that one.
    @Test func aNewDirectoryIsWatchedFromTheNextPeriod() throws {
        let (repo, watch) = try Self.project()
        try repo.write("data/a/first.csv", "1\n")
        #expect(!watch.isQuiet())
        #expect(watch.startQuietPeriod() != nil)
        #expect(watch.isQuiet())
        try repo.write("data/a/second.csv", "2\n")
        #expect(!watch.isQuiet())
    }

    /// More events than the kernel queues: the period is broken, and the next one sets every watch again.
    @Test func aQueueOverflowBreaksThePeriodAndTheWatchesAreSetAgain() throws {
        let (repo, watch) = try Self.project()
        let first = open(repo.path + "/run.log", O_WRONLY | O_APPEND), second = open(repo.path + "/build/out.o", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        defer { close(first); close(second) }
        let queued = Int(try String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 16384
        // Two files in turn: the kernel merges an event only with an identical one just before it.
        for _ in 0...(queued / 2 + 1) {
            #expect(write(first, "x", 1) == 1 && write(second, "y", 1) == 1)
        }
        #expect(!watch.isQuiet(), "the changes are to ignored files: only the overflow breaks the period")
        #expect(watch.startQuietPeriod() == nil, "what the period touched is unknown")
        #expect(!watch.isBroken)
        #expect(watch.isQuiet())
        try repo.write("src/main.py", "print(3)\n")
        #expect(!watch.isQuiet())
    }

    /// Events that cannot be read (the watch's descriptor replaced under it by one that fails to
    /// read, a directory's) leave the period unknown, never quiet; the next period watches afresh.
    @Test func eventsThatCannotBeReadAreNoQuiet() throws {
        let (repo, watch) = try Self.project()
        #expect(watch.isQuiet())
        let directory = open(repo.path, O_RDONLY | O_DIRECTORY)
        #expect(directory >= 0 && dup2(directory, watch.descriptor) == watch.descriptor)
        close(directory)
        #expect(!watch.isQuiet())
        #expect(watch.startQuietPeriod() == nil)
        #expect(!watch.isBroken && watch.isQuiet())
        try repo.write("src/main.py", "print(4)\n")
        #expect(!watch.isQuiet())
    }

    /// A directory whose name is not UTF-8 cannot be watched by name: no watch at all, rather
    /// than one blind to that directory (made while watching: the watch breaks).
    @Test func aDirectoryNamedInBytesThatAreNotUTF8MeansNoWatch() throws {
        let (repo, _) = try Self.project()
        var name = Array((repo.path + "/src/").utf8CString.dropLast()) + [0x66, -1, 0]
        let watch = try #require(WorkTreeWatch(try Repository(path: repo.path)))
        #expect(mkdir(&name, 0o755) == 0)
        #expect(!watch.isQuiet())
        #expect(watch.startQuietPeriod() == nil)
        #expect(watch.isBroken && !watch.isQuiet())
        #expect(WorkTreeWatch(try Repository(path: repo.path)) == nil)
    }

    /// The paths a period touched are all a status needs: limited to them, it finds what the
    /// status of the whole work tree finds, for changes of every kind.
    @Test func aStatusOfThePathsAPeriodTouchedIsTheWholeStatus() throws {
        let (repo, _) = try Self.project()
        try repo.commitFiles(["old/a.txt": "a\n", "old/deep/b.txt": "b\n", "src/keep.py": "keep\n", "src/gone.py": "gone\n"])
        let repository = try Repository(path: repo.path)
        let head = try #require(OID(hex: try repo.gitLine("rev-parse", "HEAD")))
        try repository.resetHard(to: head)
        let watch = try #require(WorkTreeWatch(repository))
        #expect(try repository.workTreeStatus(limitedTo: []).entries.isEmpty)
        try repo.write("src/main.py", "print(2)\n")
        try repo.write("new/one/two/three.txt", "nested\n")
        try repo.write("src/a[1]*.txt", "a name with glob characters\n")
        try repo.write("build/config.h", "#define X 2\n")
        try repo.write("notes/second.txt", "the user's\n")
        try repo.write("run.log", "ignored\n")
        try FileManager.default.removeItem(atPath: repo.path + "/old")
        #expect(rename(repo.path + "/src/gone.py", repo.path + "/src/moved.py") == 0)
        #expect(chmod(repo.path + "/src/keep.py", 0o755) == 0)
        let touched = try #require(watch.startQuietPeriod())
        // The user's untracked file was there before the period: only a whole status shows it.
        let whole = try repository.workTreeStatus().entries.filter { $0.path != "notes/idea.txt" }
        #expect(whole.count == 10, "\(whole.map(\.path))")
        #expect(try repository.workTreeStatus(limitedTo: touched).entries == whole, "\(touched)")
        #expect(watch.isQuiet())
        #expect(try #require(watch.startQuietPeriod()).isEmpty)
    }

    /// With the work tree known to hold HEAD's files, the reset writes only the paths HEAD and the
    /// target differ in, and leaves what `git reset --hard` leaves: by its own writes for plain
    /// files (`restoreFiles`), by libgit2's checkout for the rest.
    @Test(arguments: ["plain", "hard link", "ignored file in a removed directory", "filter", "symbolic link", "file to directory"])
    func aResetOfAWorkTreeHoldingHeadLeavesWhatGitsResetLeaves(situation: String) throws {
        let (repo, base, first) = try ParallelStatusTests.baseAndCandidate()
        switch situation {
        case "symbolic link":
            #expect(symlink("a.txt", repo.path + "/link") == 0)
        case "file to directory":
            try FileManager.default.removeItem(atPath: repo.path + "/z.txt")
            try repo.write("z.txt/inner.txt", "a directory now\n")
        default:
            break
        }
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "--allow-empty", "-m", "candidate, then \(situation)"])
        let candidate = try #require(OID(hex: try repo.gitLine("rev-parse", "HEAD")))
        #expect(candidate != first)
        let repository = try Repository(path: repo.path)
        try repository.resetHard(to: candidate)
        try repo.write("results/out.txt", "untracked, seen before\n")
        switch situation {
        case "hard link":
            #expect(link(repo.path + "/src/d1/f1.py", repo.path + "/results/link.py") == 0)
        case "ignored file in a removed directory":
            try repo.write("src/d4/cache.tmp", "ignored\n")
        case "filter":
            // Only for paths the reset writes: git also rewrites the files whose conversion changed.
            try repo.write(".git/info/attributes", "src/d10/* text eol=crlf\nsrc/d1/f1.py text eol=crlf\n")
        default:
            break
        }
        let twin = TempRepository(adopting: repo.path + "-twin")
        #expect(try runProgram("/bin/cp", ["-a", repo.path, twin.path], in: "/").status == 0)
        let changes = try repository.treeChanges(from: try repository.commit(candidate).tree, to: try repository.commit(base).tree)
        let plain = ["plain", "hard link", "ignored file in a removed directory"].contains(situation)
        #expect(try repository.canRestoreFiles(changes, workdir: repo.path + "/") == plain)
        #expect(try repository.resetHard(to: base, workTreeHoldsHead: true).isEmpty)
        try twin.git(["reset", "-q", "--hard", base.hex])
        for arguments in [["ls-files", "-s"], ["status", "--porcelain", "--ignored", "--untracked-files=all"],
                          ["reflog", "-1", "--format=%H %gs", "main"], ["diff", "--stat"]] {
            #expect(try repo.git(arguments) == (try twin.git(arguments)), "git \(arguments.joined(separator: " "))")
        }
        let (ours, gits) = (try ParallelStatusTests.contents(of: repo.path), try ParallelStatusTests.contents(of: twin.path))
        #expect(ours == gits, "\(ours.filter { gits[$0.key] != $0.value }) vs \(gits.filter { ours[$0.key] != $0.value })")
        #expect(repository.indexMatch?.tree.hex == (try repo.gitLine("rev-parse", "HEAD^{tree}")))
        #expect(try repository.workTreeStatus().entries.filter { !$0.isUntracked }.isEmpty)
        try repo.fsck()
    }
}

/// The status of the files a watch named, read file by file (`statusOfFiles`), against libgit2's
/// status limited to them and git's.
@Suite struct TouchedFilesStatusTests {
    /// The files of `WorkTreeWatchTests.project()`, one more in the user's directory, and what
    /// each test changes after the index is written.
    static func project() throws -> (TempRepository, Repository) {
        let (repo, _) = try WorkTreeWatchTests.project()
        try repo.commitFiles(["src/same.py": "same\n", "src/size.py": "size\n", "src/mode.py": "mode\n", "src/gone.py": "gone\n",
                              "src/touched.py": "touched\n", "bin/tool": "#!/bin/sh\n"])
        chmod(repo.path + "/bin/tool", 0o755)
        try repo.git(["add", "bin/tool"])
        try repo.git(["commit", "-q", "-m", "executable"])
        let repository = try Repository(path: repo.path)
        try repository.resetHard(to: try #require(OID(hex: try repo.gitLine("rev-parse", "HEAD"))))
        return (repo, repository)
    }

    @Test func fileByFileFindsWhatLibgit2AndGitFind() throws {
        let (repo, repository) = try Self.project()
        // Older than the index by more than a clock tick, so only the changes below are racy.
        usleep(20_000)
        try repo.write("src/same.py", "SAME\n")
        try repo.write("src/size.py", "a longer content\n")
        #expect(chmod(repo.path + "/src/mode.py", 0o755) == 0)
        #expect(chmod(repo.path + "/bin/tool", 0o644) == 0)
        try FileManager.default.removeItem(atPath: repo.path + "/src/gone.py")
        try repo.write("src/touched.py", "touched\n")
        try repo.write("src/new.py", "new\n")
        try repo.write("src/new.log", "ignored by *.log\n")
        try repo.write("build/new.h", "in an ignored directory that holds a tracked file\n")
        try repo.write("notes/second.txt", "in the user's untracked directory\n")
        let touched = ["src/same.py", "src/size.py", "src/mode.py", "bin/tool", "src/gone.py", "src/touched.py", "src/new.py",
                       "src/new.log", "build/new.h", "notes/second.txt", "src/never-there.py", "README.md"]
        let index = try repository.openIndex()
        defer { git_index_free(index) }
        let byFile = try #require(try repository.statusOfFiles(touched, in: index, workdir: repo.path + "/"))
        let libgit2 = try repository.readStatus(show: GIT_STATUS_SHOW_WORKDIR_ONLY, flags: GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH.rawValue,
                                                paths: touched)
        #expect(byFile.entries == libgit2.entries)
        #expect(byFile.entries.map(\.path) == ["bin/tool", "notes/second.txt", "src/gone.py", "src/mode.py", "src/new.py", "src/same.py", "src/size.py"])
        #expect(byFile.unchangedFilesRead == 1, "src/touched.py was read, its content unchanged")
        let gits = try repo.git(["status", "--porcelain", "--untracked-files=all", "--", ] + touched)
            .split(separator: "\n").map { String($0.dropFirst(3)) }.sorted()
        #expect(gits == byFile.entries.map(\.path))
    }

    /// What only libgit2's status (or a whole one) can answer gives nil.
    @Test(arguments: ["directory", "was a directory", "link", ".gitignore", "skip-worktree", "conflict"])
    func whatIsNoPlainFileIsLeftToLibgit2(situation: String) throws {
        let (repo, repository) = try Self.project()
        var path = "src/same.py"
        switch situation {
        case "directory":
            try repo.write("src/newdir/file.py", "new\n")
            path = "src/newdir"
        case "was a directory":
            try FileManager.default.removeItem(atPath: repo.path + "/src")
            path = "src"
        case "link":
            try FileManager.default.removeItem(atPath: repo.path + "/src/same.py")
            #expect(symlink("size.py", repo.path + "/src/same.py") == 0)
        case ".gitignore":
            try repo.write(".gitignore", "*.py\n")
            path = ".gitignore"
        case "skip-worktree":
            try repo.git(["update-index", "--skip-worktree", "src/same.py"])
        default:
            let blob = try repo.gitLine("rev-parse", "HEAD:src/size.py")
            let script = "printf '0 \(String(repeating: "0", count: 40))\\tsrc/same.py\\n100644 \(blob) 2\\tsrc/same.py\\n100644 \(blob) 3\\tsrc/same.py\\n' | git update-index --index-info"
            #expect(try runProgram("/bin/sh", ["-c", script], in: repo.path).status == 0)
            #expect(try repo.git(["ls-files", "-u"]).contains("src/same.py"))
        }
        let index = try repository.openIndex()
        defer { git_index_free(index) }
        #expect(try repository.statusOfFiles([path], in: index, workdir: repo.path + "/") == nil)
    }
}
