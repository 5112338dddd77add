import Foundation
@testable import Git
import Testing
import Fixtures

/// New untracked files found from the directories' modification times, checked against
/// `git status --porcelain -uall`.
@Suite struct NewFilesTests {
    /// A repository with tracked files at the top, in `src/a` and in `src/b`, an ignored
    /// directory, and an untracked file of the user's in `notes`.
    func repository() throws -> TempRepository {
        let repo = try TempRepository()
        try repo.commitFiles(["top.txt": "t\n", "src/a/one.py": "1\n", "src/b/two.py": "2\n", ".gitignore": "build/\n"])
        try repo.write("build/old.o", "o\n")
        try repo.write("notes/mine.txt", "n\n")
        return repo
    }

    /// Sets the time of every directory of the work tree to a minute ago, out of the racy window.
    func ageDirectories(_ repo: TempRepository) throws {
        for directory in [".", "src", "src/a", "src/b", "build", "notes"] {
            try runProgram("/usr/bin/touch", ["-d", "1 minute ago", directory], in: repo.path)
        }
    }

    func untrackedByGit(_ repo: TempRepository) throws -> [String] {
        try repo.git(["status", "--porcelain", "-uall"]).split(separator: "\n").filter { $0.hasPrefix("??") }.map { String($0.dropFirst(3)) }
    }

    @Test func newFilesAnywhereAreFoundAndIgnoredOnesLeftOut() throws {
        let repo = try repository()
        try ageDirectories(repo)
        let repository = try Repository(path: repo.path)
        let before = try repository.directoryTimes(alsoWatching: ["notes/mine.txt"])
        try repo.write("new.txt", "n\n")
        try repo.write("src/a/new.py", "n\n")
        try repo.write("src/c/d/deep.py", "n\n")
        try repo.write("notes/more.txt", "n\n")
        try repo.write("build/new.o", "o\n")
        try repo.write("src/b/two.py", "rewritten in place\n")
        let found = try repository.untrackedFiles(appearedSince: before).sorted()
        #expect(found == ["new.txt", "notes/mine.txt", "notes/more.txt", "src/a/new.py", "src/c/d/deep.py"])
        #expect(found == (try untrackedByGit(repo)).sorted(), "what git lists as untracked")
    }

    @Test func directoriesWhoseTimeDidNotMoveAreNotLookedInto() throws {
        let repo = try repository()
        try repo.write("src/a/before.py", "b\n")
        try ageDirectories(repo)
        let repository = try Repository(path: repo.path)
        let before = try repository.directoryTimes(alsoWatching: [])
        #expect(try repository.untrackedFiles(appearedSince: before).isEmpty, "src/a/before.py was there before")
        try repo.write("src/b/new.py", "n\n")
        #expect(try repository.untrackedFiles(appearedSince: before) == ["src/b/new.py"])
        #expect(try untrackedByGit(repo).sorted() == ["notes/mine.txt", "src/a/before.py", "src/b/new.py"])
    }

    /// A file created in the same clock tick as the times were taken can leave its directory's
    /// time as it was. Such a time (here: one in the future) is looked into anyway; so is a
    /// recent time (2 s ago) without nanoseconds (a file system that may keep seconds only), and,
    /// on a file system whose times may be coarser than the kernel's clock, any recent time. A
    /// time a few ticks old with nanoseconds, on one that stamps times from the kernel's clock, is
    /// not: no later change can leave it as it was. Nor is an old one.
    @Test(arguments: ["+1.000000000", "-0.050000001", "-2.000000000", "-60.000000001"])
    func aDirectoryIsLookedIntoWhenItsTimeCouldHideAChange(offset: String) throws {
        let repo = try repository()
        let repository = try Repository(path: repo.path)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let offsetNanoseconds = Int(offset.dropLast(10))! * 1_000_000_000 + (offset.hasPrefix("-") ? -1 : 1) * Int(offset.suffix(9))!
        // `now` without its nanoseconds: "-2.000000000" gives a time without any.
        let nanoseconds = Int(now.tv_sec) * 1_000_000_000 + offsetNanoseconds
        let time = "@\(nanoseconds / 1_000_000_000)." + String(format: "%09d", nanoseconds % 1_000_000_000)
        let finelyStamped = DirectoryTimes.stampsFromTheKernelClock(repo.path)
        let expected = switch offset {
        case "+1.000000000", "-2.000000000": true
        case "-0.050000001": !finelyStamped
        default: false
        }
        try runProgram("/usr/bin/touch", ["-d", time, "src/a"], in: repo.path)
        let before = try repository.directoryTimes(alsoWatching: [])
        try repo.write("src/a/new.py", "n\n")
        try runProgram("/usr/bin/touch", ["-d", time, "src/a"], in: repo.path)
        #expect(try repository.untrackedFiles(appearedSince: before).contains("src/a/new.py") == expected,
                "time \(time), file system stamping from the kernel's clock: \(finelyStamped)")
    }
}
