// (i) one iteration on a large tree and (j) the pre-commit hook on it, each next to the git CLI.
import Autoresearch
import Foundation
import Fixtures
#if canImport(Glibc)
import Glibc
#endif

/// A project of `files` files in directories of 100 (`src/dN/fM.py`), an evaluator printing
/// `score: <value.txt>`, all committed with the git CLI.
func makeLargeProject(files: Int) throws -> TempRepository {
    let repo = try TempRepository()
    for index in 0..<files {
        let directory = repo.path + "/src/d\(index / 100)"
        if index % 100 == 0 { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        guard FileManager.default.createFile(atPath: directory + "/f\(index % 100).py", contents: Data("x = \(index)\n".utf8)) else {
            fatalError("cannot write \(directory)/f\(index % 100).py")
        }
    }
    try repo.write("eval.sh", "echo \"score: $(cat value.txt)\"\n")
    try repo.write("value.txt", "1000\n")
    try repo.git(["add", "-A"])
    try repo.git(["commit", "-qm", "\(files) files"])
    return repo
}

/// Sets the modification time of every file under `src` to now, contents unchanged (`touch`).
func touchSources(_ repo: TempRepository) {
    guard let files = FileManager.default.enumerator(atPath: repo.path + "/src") else { return }
    for case let path as String in files where path.hasSuffix(".py") {
        utimensat(AT_FDCWD, repo.path + "/src/" + path, nil, 0)
    }
}

/// The change of iteration `index` on a large project: value.txt better on even iterations (a
/// keep), worse on odd ones (a discard), and one source file.
func editLargeProject(_ repo: TempRepository, _ index: Int) throws {
    try repo.write("value.txt", index % 2 == 0 ? "\(900 - index)\n" : "5000\n")
    try repo.write("src/d\(index % 500)/f0.py", "x = -\(index)\n")
}

/// One way of iterating on its own copy of the large project, with its iteration times: untouched
/// tree, then after a `touch` of every file the first iteration and the following ones; wall time,
/// and CPU time (user + system, children included: for the tool, its evaluator's few milliseconds
/// too).
final class TreeIterator {
    let label: String
    let repo: TempRepository
    /// Iteration `index` on `repo`, its edit already made; returns the wall time to count.
    let iterate: (Int) throws -> Double
    var untouched: [(wall: Double, cpu: Double)] = []
    var firstAfterTouch = (wall: 0.0, cpu: 0.0)
    var afterTouch: [(wall: Double, cpu: Double)] = []

    init(_ label: String, _ repo: TempRepository, iterate: @escaping (Int) throws -> Double) {
        self.label = label
        self.repo = repo
        self.iterate = iterate
    }

    /// Edits the project for iteration `index` and times the iteration.
    func timed(_ index: Int) throws -> (wall: Double, cpu: Double) {
        try editLargeProject(repo, index)
        let cpuStarted = cpuTime()
        let wall = try iterate(index)
        return (wall, cpuTime() - cpuStarted)
    }

    /// The row: untouched median, first after touch, following median, each in wall and CPU time
    /// with its ratio to `git`.
    func row(against git: TreeIterator?) -> String {
        func cell(_ time: Double, _ reference: Double?) -> String {
            ms(time).leftPadded(12) + (reference.map { String(format: " %5.2fx", time / $0) } ?? "       ")
        }
        func cells(_ times: [(wall: Double, cpu: Double)], _ reference: [(wall: Double, cpu: Double)]?) -> String {
            cell(median(times.map(\.wall)), reference.map { median($0.map(\.wall)) }) + " CPU"
                + cell(median(times.map(\.cpu)), reference.map { median($0.map(\.cpu)) })
        }
        return "  " + label.padding(toLength: 52, withPad: " ", startingAt: 0)
            + cells(untouched, git?.untouched) + "   " + cells([firstAfterTouch], git.map { [$0.firstAfterTouch] }) + "   "
            + cells(afterTouch, git?.afterTouch)
    }
}

/// Runs the ways side by side: each iteration's index on every way in turn, `untouched`
/// iterations, then a touch of every file of every tree and `1 + afterTouch` more.
func iterateInterleaved(_ ways: [TreeIterator], untouched: Int, afterTouch: Int) throws {
    for index in 0..<untouched {
        for way in ways { way.untouched.append(try way.timed(index)) }
    }
    for way in ways { touchSources(way.repo) }
    for index in untouched...(untouched + afterTouch) {
        for way in ways {
            let time = try way.timed(index)
            if index == untouched { way.firstAfterTouch = time } else { way.afterTouch.append(time) }
        }
    }
}

func workTreeIteration() throws {
    let files = number("--tree-files", 50000)
    let untouched = number("--tree-iterations", 10)
    let afterTouch = number("--tree-after-touch", 6)
    print("\n(i) One iteration on a \(grouped(files))-file tree (\(files / 100) directories), value.txt and one source file edited, half kept, half discarded, evaluation excluded; three copies of the tree written and synced to disk first, then the three ways interleaved, iteration by iteration: \(untouched) iterations, a touch of every file, \(afterTouch + 1) more; then a loop in process on a fourth copy, the same edits and touch made by its agent; x: of the git CLI")
    print("  " + "".padding(toLength: 52, withPad: " ", startingAt: 0) + "untouched (median): wall, CPU".leftPadded(42) + "   "
          + "1st after touch".leftPadded(42) + "   " + "following (median)".leftPadded(42))

    let gitRepo = try makeLargeProject(files: files)
    var best = try gitRepo.gitLine("rev-parse", "HEAD")
    let git = TreeIterator("git CLI: add -A, commit, reset --hard on a discard", gitRepo) { index in
        let started = now()
        try gitRepo.git(["add", "-A"])
        try gitRepo.git(["commit", "-qm", "change \(index)"])
        if index % 2 == 0 { best = try gitRepo.gitLine("rev-parse", "HEAD") } else { try gitRepo.git(["reset", "-q", "--hard", best]) }
        return now() - started
    }

    let libraryRepo = try makeLargeProject(files: files)
    let workspace = try Workspace(discoveringFrom: libraryRepo.path)
    try initExperiment(workspace)
    _ = try workspace.runOnce(experiment: "bench")
    let library = TreeIterator("library runOnce (in-process)", libraryRepo) { index in
        try libraryIteration(workspace, message: "change \(index)")
    }

    let cliRepo = try makeLargeProject(files: files)
    try runProgram(toolPath, ["init", "--name", "bench", "--eval", "sh eval.sh", "--metric", "score", "--budget", "10s"], in: cliRepo.path)
    try runProgram(toolPath, ["run", "-q"], in: cliRepo.path)
    let cli = TreeIterator("git autoresearch run (one CLI process per iteration)", cliRepo) { index in
        let started = now()
        let output = try runProgram(toolPath, ["run", "--format", "json", "-m", "change \(index)"], in: cliRepo.path)
        let wall = now() - started
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        return wall - (object?["duration"] as? Double ?? 0)
    }

    // The trees just written are still going to the disk; a loop runs on a settled tree.
    sync()
    try iterateInterleaved([git, library, cli], untouched: untouched, afterTouch: afterTouch)
    print(git.row(against: nil))
    print(library.row(against: git))
    print(cli.row(against: git))
    print(try loopOnLargeProject(files: files, untouched: untouched, afterTouch: afterTouch).row(against: git))
}

/// A loop in process on a fourth copy, as `git autoresearch loop` runs it: the agent makes the
/// edits of `editLargeProject` (and touches every file before the iteration that comes first
/// after the touch), its CPU time the tool's own. Not interleaved: one call runs every iteration.
func loopOnLargeProject(files: Int, untouched: Int, afterTouch: Int) throws -> TreeIterator {
    let repo = try makeLargeProject(files: files)
    let workspace = try Workspace(discoveringFrom: repo.path)
    try initExperiment(workspace)
    _ = try workspace.runOnce(experiment: "bench")
    let agent = repo.path + "-agent.sh"
    // The loop's iteration 1 is not measured: measured iteration k is the loop's k + 2.
    try """
    i=$AUTORESEARCH_ITERATION
    if [ "$i" = \(untouched + 2) ]; then find src -name '*.py' -exec touch {} +; fi
    if [ $((i % 2)) = 0 ]; then echo $((900 - i)) > value.txt; else echo 5000 > value.txt; fi
    echo "x = -$i" > "src/d$((i % \(files / 100)))/f0.py"

    """.write(toFile: agent, atomically: true, encoding: .utf8)
    defer { unlink(agent) }
    sync()
    let times = try LoopTimes(workspace, agentScript: agent, iterations: untouched + 1 + afterTouch)
    let measured = Array(zip(times.overheads, times.cpu))
    let way = TreeIterator("library loop (in-process, an agent edits; own CPU)", repo) { _ in 0 }
    way.untouched = Array(measured.prefix(untouched))
    way.firstAfterTouch = measured[untouched]
    way.afterTouch = Array(measured.dropFirst(untouched + 1))
    return way
}

/// Median wall time of `runs` runs of `executable` in `directory`; stops the benchmark on failure.
func medianWallTime(_ executable: String, _ arguments: [String], in directory: String, environment: [String: String] = [:],
                    runs: Int = 10) throws -> Double {
    median(try (0..<runs).map { _ in
        let started = now()
        let output = try runProgram(executable, arguments, in: directory, environment: environment)
        guard output.status == 0 else { fatalError("\(executable) \(arguments) failed: \(output.stderr)") }
        return now() - started
    })
}

func hookOnLargeTree() throws {
    try hookOnTree(part: "j", files: number("--tree-files", 50000))
}

/// Part (e) or (j): the pre-commit hook on a `files`-file tree with a staged change to one file,
/// next to `guard --staged` alone, process start and `git status --porcelain`.
func hookOnTree(part: String, files: Int) throws {
    print("\n(\(part)) The pre-commit hook on a \(grouped(files))-file tree, a staged change to one file: median of 10")
    let repo = try makeLargeProject(files: files)
    let workspace = try Workspace(discoveringFrom: repo.path)
    try initExperiment(workspace)
    _ = try workspace.runOnce(experiment: "bench")
    _ = try workspace.installHooks()
    try repo.write("src/d0/f0.py", "x = -1\n")
    try repo.git(["add", "src/d0/f0.py"])
    let path = URL(fileURLWithPath: toolPath).deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    let status = try medianWallTime("/usr/bin/git", ["status", "--porcelain"], in: repo.path)
    let rows: [(String, Double)] = [
        ("the hook (sh .git/hooks/pre-commit)", try medianWallTime("/bin/sh", [".git/hooks/pre-commit"], in: repo.path, environment: ["PATH": path])),
        ("git-autoresearch guard --staged alone", try medianWallTime(toolPath, ["guard", "--staged"], in: repo.path)),
        ("git-autoresearch --version (process start)", try medianWallTime(toolPath, ["--version"], in: repo.path)),
        ("git status --porcelain", status),
    ]
    for (label, time) in rows {
        print("  " + label.padding(toLength: 50, withPad: " ", startingAt: 0) + ms(time).leftPadded(12) + String(format: "  %5.2fx of git status", time / status))
    }
}
