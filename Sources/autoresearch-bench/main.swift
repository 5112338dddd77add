// `make bench`: what one iteration costs the tool, next to the same steps done with the git CLI,
// and what one record costs as the ledger grows. Everything is measured side by side in one run.
import Autoresearch
import Foundation
import Git
import Fixtures

let arguments = CommandLine.arguments

/// The options, each with its argument (nil for a flag) and what it sets; `--help` prints them,
/// and any other argument is refused before anything is measured.
let knownOptions: [(name: String, argument: String?, help: String)] = [
    ("--only", "PARTS", "a alone, or a comma-separated list of h, i, j, k, m, n"),
    ("--loop-only", nil, "with --only a: the writes alone and the in-process loop only"),
    ("--iterations", "N", "iterations of (a) (40)"),
    ("--tool", "PATH", "the git-autoresearch binary measured (the one built next to the benchmark)"),
    ("--keep-scratch", nil, "keep the scratch directory and print its path"),
    ("--sizes", "N,N,...", "ledger sizes of (b) (1000,10000,100000,1000000)"),
    ("--appends", "N", "records appended at each size of (b) (50)"),
    ("--read-sizes", "N,N,...", "ledger sizes of (h) (1000,10000,100000,1000000)"),
    ("--keeps", "N", "keeps on the branch in (h) (2000)"),
    ("--full-log-max", "N", "the largest ledger (h) prints in full (100000)"),
    ("--before-binary", "PATH", "an older binary (h) and (k) also measure"),
    ("--before-max", "N", "the largest ledger the older binary reads (10000)"),
    ("--starts", "N", "process starts measured in (k) (50)"),
    ("--parallel-seconds", "S", "seconds of each parallel measurement in (g) (30)"),
    ("--workers", "N,N,...", "worker counts of (g) (1,2,4)"),
    ("--slurm-jobs", "N", "SLURM workers of (m) (2)"),
    ("--clones", "N", "worker clones of (n) (5)"),
    ("--clone-sizes", "N,N,...", "ledger sizes of (n) (1000,10000)"),
    ("--tree-files", "N", "files of the large tree of (i) and (j) (50000)"),
    ("--tree-iterations", "N", "iterations of (i) on the untouched tree (10)"),
    ("--tree-after-touch", "N", "iterations of (i) after the touch (6)"),
]
func exitWithUsage(_ problem: String?) -> Never {
    var text = "usage: autoresearch-bench [OPTION]...   (make bench BENCH=\"OPTION...\")\n"
    for option in knownOptions {
        text += "  " + (option.name + (option.argument.map { " " + $0 } ?? "")).padding(toLength: 26, withPad: " ", startingAt: 0) + option.help + "\n"
    }
    if let problem { FileHandle.standardError.write(Data(("autoresearch-bench: \(problem)\n" + text).utf8)) } else { print(text, terminator: "") }
    exit(problem == nil ? 0 : 2)
}
if arguments.contains("--help") || arguments.contains("-h") { exitWithUsage(nil) }
do {
    var position = 1
    while position < arguments.count {
        guard let known = knownOptions.first(where: { $0.name == arguments[position] }) else { exitWithUsage("unknown argument '\(arguments[position])'") }
        if known.argument != nil, position + 1 >= arguments.count { exitWithUsage("\(known.name) takes \(known.argument!)") }
        position += known.argument == nil ? 1 : 2
    }
}

/// The run's scratch directory: every repository the benchmark makes goes under it (`TMPDIR`, for
/// the tool's processes too), and it is removed when the benchmark exits, since its repositories
/// are globals that are never released (kept, and named, with `--keep-scratch`, to measure more by hand).
/// The temporary directory the benchmark was given: the large ledgers of (h) are kept there from run to run.
let temporaryDirectory = FileManager.default.temporaryDirectory.path
let scratch: String = {
    var template = Array((temporaryDirectory + "/autoresearch-bench-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { fatalError("cannot make a scratch directory: \(String(cString: strerror(errno)))") }
    let path = String(cString: made)
    setenv("TMPDIR", path, 1)
    return path
}()
if arguments.contains("--keep-scratch") {
    print("scratch directory, kept: \(scratch)")
} else {
    atexit { try? FileManager.default.removeItem(atPath: scratch) }
}
func option(_ name: String, _ fallback: String) -> String {
    arguments.firstIndex(of: name).flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil } ?? fallback
}
/// The number `name` sets, else `fallback`; anything but a number stops the benchmark with the usage.
func number<Number: LosslessStringConvertible>(_ name: String, _ fallback: Number) -> Number {
    let text = option(name, String(describing: fallback))
    guard let value = Number(text) else { exitWithUsage("\(name) takes a number, not '\(text)'") }
    return value
}
let iterations = number("--iterations", 40)
let ledgerSizes = option("--sizes", "1000,10000,100000,1000000").split(separator: ",").compactMap { Int($0) }
let appendsPerSize = number("--appends", 50)
/// The binary measured: `--tool PATH`, else the one built next to the benchmark.
let toolPath = option("--tool", URL(fileURLWithPath: arguments[0]).deletingLastPathComponent().appendingPathComponent("git-autoresearch").path)

func now() -> Double { Date().timeIntervalSinceReferenceDate }
/// The CPU time (user + system) the children this process waited for spent so far, and with
/// `includingOwn` this process's too, in seconds.
func cpuTime(includingOwn: Bool = true) -> Double {
    var own = rusage(), children = rusage()
    if includingOwn { getrusage(RUSAGE_SELF.rawValue, &own) }
    getrusage(RUSAGE_CHILDREN.rawValue, &children)
    return [own.ru_utime, own.ru_stime, children.ru_utime, children.ru_stime].reduce(0) { $0 + Double($1.tv_sec) + Double($1.tv_usec) / 1e6 }
}
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }
func grouped(_ number: Int) -> String {
    let formatter = NumberFormatter()
    formatter.numberStyle = .decimal
    formatter.groupingSeparator = ","
    return formatter.string(from: NSNumber(value: number)) ?? String(number)
}

/// A project of 200 source files and an evaluator that prints `score: <value.txt>`.
func makeProject() throws -> TempRepository {
    let repo = try TempRepository()
    var files = ["eval.sh": "echo \"score: $(cat value.txt)\"\n", "value.txt": "1000\n"]
    for index in 0..<200 { files["src/module\(index).py"] = "def f\(index)(x):\n    return x * \(index)\n" }
    try repo.commitFiles(files, message: "project")
    return repo
}

/// The scripted change of iteration `index`: even iterations improve the score, odd ones worsen it.
func edit(_ repo: TempRepository, _ index: Int) throws {
    try repo.write("value.txt", index % 2 == 0 ? "\(900 - index)\n" : "5000\n")
    try repo.write("src/module\(index % 200).py", "def f(x):\n    return x + \(index)\n")
}

func objectBytes(_ repo: TempRepository) -> Int {
    let root = repo.path + "/.git/objects"
    var total = 0
    for directory in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where directory.count == 2 {
        for file in (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + directory)) ?? [] {
            total += (try? FileManager.default.attributesOfItem(atPath: "\(root)/\(directory)/\(file)")[.size] as? Int) ?? 0
        }
    }
    return total
}

func initExperiment(_ workspace: Workspace) throws {
    var settings = ExperimentSettings(name: "bench")
    settings.set(.evaluate, "sh eval.sh")
    settings.set(.metric, "score")
    settings.set(.budget, "10s")
    _ = try workspace.initialize(settings)
}

/// Runs one library iteration and returns (overhead excluding the evaluation, record).
func libraryIteration(_ workspace: Workspace, message: String) throws -> Double {
    let started = now()
    guard case .ran(let outcome) = try workspace.runOnce(experiment: "bench", message: message) else { fatalError("no run") }
    return now() - started - outcome.record.duration
}

func randomHex() -> String { (0..<20).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined() }

/// Replaces the ledger with `notes` (annotated object as 40 hex digits, note blob), written at
/// once as the fanout tree `appendNote` keeps (`ab/cd/<36 hex>`): the "bulk ledger".
func writeBulkLedger(_ repository: Repository, notes: [(annotated: String, blob: OID)]) throws {
    var fanout: [String: [String: [(String, OID, FileMode)]]] = [:]
    for (hex, blob) in notes {
        let chars = Array(hex)
        fanout[String(chars[0..<2]), default: [:]][String(chars[2..<4]), default: []].append((String(chars[4...]), blob, .blob))
    }
    var rootEntries: [(name: String, id: OID, mode: FileMode)] = []
    for (first, seconds) in fanout {
        var firstEntries: [(name: String, id: OID, mode: FileMode)] = []
        for (second, notes) in seconds {
            firstEntries.append((second, try repository.writeTree(entries: notes.map { ($0.0, $0.1, $0.2) }), .tree))
        }
        rootEntries.append((first, try repository.writeTree(entries: firstEntries), .tree))
    }
    let notesCommit = try repository.createCommit(tree: try repository.writeTree(entries: rootEntries), parents: [], message: "bulk ledger\n")
    try repository.setReference(Refs.notes, to: notesCommit, message: "bench: bulk ledger")
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

// MARK: (h) reading the ledger: log, status, best, report against git plumbing

/// A project with experiment `bench`: a branch of `keeps` kept commits (the first a baseline)
/// and `size` discarded runs on other objects, written as one bulk ledger, every object in packs
/// (a loose file per note would take minutes at 1M). Kept under /tmp between bench runs (the
/// generation is the same every time); the ledger index is removed, so the first command builds it.
func projectWithLedger(size: Int, keeps: Int) throws -> String {
    let cached = temporaryDirectory + "/autoresearch-bench-ledger-\(size)-\(keeps)-v2"
    if !FileManager.default.fileExists(atPath: cached + "/.git/bench-complete") {
        let repo = try makeProject()
        try initExperiment(try Workspace(discoveringFrom: repo.path))
        try writeLedger(in: repo.path, size: size, keeps: keeps)
        try? FileManager.default.removeItem(atPath: cached)
        try FileManager.default.copyItem(atPath: repo.path, toPath: cached)
        _ = FileManager.default.createFile(atPath: cached + "/.git/bench-complete", contents: nil)
    }
    for file in ["ledger-index", "ledger-index-summary"] { try? FileManager.default.removeItem(atPath: cached + "/.git/autoresearch/" + file) }
    return cached
}

/// Writes the kept commits and the notes of `projectWithLedger`: blobs in packs of 100,000 (each
/// reachable from a commit of its own, so that it is packed), then the trees.
func writeLedger(in path: String, size: Int, keeps: Int) throws {
    func packed(_ notes: [(annotated: String, blob: OID)], in repository: Repository) throws -> [(annotated: String, blob: OID)] {
        let tree = try repository.writeTree(entries: notes.map { ($0.annotated, $0.blob, FileMode.blob) })
        _ = try repository.createCommit(tree: tree, parents: [], message: "bench: note blobs\n")
        return notes
    }
    let branch: ReferenceName = "refs/heads/autoresearch/bench"
    func note(_ index: Int, _ status: RunStatus, value: Double, bestBefore: Double?) -> [UInt8] {
        let start = Date(timeIntervalSince1970: 1_795_438_310 + Double(index) / 1000)
        // The run id `RunID.make` gives, without its date formatter: `20261123-125150-` and 6 hex digits.
        let time = Array(RunRecord.timestamp(start).utf8)
        let digits: [ArraySlice<UInt8>] = [time[0..<4], time[5..<7], time[8..<10], [UInt8(ascii: "-")], time[11..<13], time[14..<16], time[17..<19]]
        let run = String(decoding: Array(digits.joined()), as: UTF8.self) + String(format: "-%06x", index % (1 << 24))
        let record = RunRecord(experiment: "bench", run: run, status: status, metric: "score", value: value,
                               bestBefore: bestBefore, direction: .lower, duration: 1, start: start, exitCode: 0, reason: nil,
                               description: "run \(index)", host: "bench")
        return Array((record.line + "\n").utf8)
    }
    var notes = try Repository.writingOnePack(at: path) { repository in
        var tip = try repository.referenceTarget(branch)!
        let tree = try repository.commit(tip).tree
        var notes: [(annotated: String, blob: OID)] = []
        for index in 0..<keeps {
            tip = try repository.createCommit(tree: tree, parents: [tip], message: "keep \(index)\n")
            let value = Double(1_000_000 - index), before = index == 0 ? nil : Double(1_000_001 - index)
            notes.append((tip.hex, try repository.createBlob(note(index, .keep, value: value, bestBefore: before))))
        }
        try repository.setReference(branch, to: tip, message: "bench: kept commits")
        return try packed(notes, in: repository)
    }
    for chunk in stride(from: keeps, to: keeps + size, by: 100_000) {
        notes += try Repository.writingOnePack(at: path) { repository in
            try packed((chunk..<min(chunk + 100_000, keeps + size)).map { index in
                (randomHex(), try repository.createBlob(note(index, .discard, value: 2_000_000, bestBefore: 1)))
            }, in: repository)
        }
    }
    try Repository.writingOnePack(at: path) { try writeBulkLedger($0, notes: notes) }
}

/// Wall and CPU time (user + system, from the children's resource usage) of one run of
/// `executable` in `directory`, output discarded; stops the benchmark on failure. On a loaded
/// machine the CPU time is the steadier figure.
func measured(_ executable: String, _ arguments: [String], in directory: String) throws -> (wall: Double, cpu: Double) {
    func childrenCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        return [usage.ru_utime, usage.ru_stime].reduce(0) { $0 + Double($1.tv_sec) + Double($1.tv_usec) / 1e6 }
    }
    let (started, cpu) = (now(), childrenCPU())
    let output = try runProgram(executable, arguments, in: directory)
    guard output.status == 0 else { fatalError("\(executable) \(arguments) failed: \(output.stderr)") }
    return (now() - started, childrenCPU() - cpu)
}

func ledgerReads() throws {
    let sizes = option("--read-sizes", "1000,10000,100000,1000000").split(separator: ",").compactMap { Int($0) }
    let keeps = number("--keeps", 2000)
    let fullLogLimit = number("--full-log-max", 100000)
    let before = option("--before-binary", "")
    let beforeLimit = number("--before-max", 10000)
    print("\n(h) Reading the ledger: N discarded runs plus \(grouped(keeps)) keeps on the branch; the first run builds the index, warm is the median of 3 (wall / CPU)")
    let commands: [(String, [String])] = [("log --format tsv", ["log", "--format", "tsv"]), ("log --format json", ["log", "--format", "json"]),
                                          ("log --status crash", ["log", "--status", "crash"]), ("log -n 20", ["log", "-n", "20"]),
                                          ("log --where value<", ["log", "--where", "value < 1500000"]), ("log --grep", ["log", "--grep", "run 1[0-9]$"]),
                                          ("log --since -n 20", ["log", "--since", "2026-11-23", "-n", "20"]),
                                          ("status", ["status"]), ("best", ["best"]), ("report", ["report"]),
                                          ("report html", ["report", "--format", "html"]), ("report svg", ["report", "--format", "svg"]),
                                          ("--version", ["--version"])]
    func both(_ time: (wall: Double, cpu: Double)) -> String { ms(time.wall) + " / " + ms(time.cpu) }
    for size in sizes {
        let started = now()
        let path = try projectWithLedger(size: size, keeps: keeps)
        let git = (catFile: try measured("/bin/sh", ["-c", "git notes --ref=autoresearch list | git cat-file --batch >/dev/null"], in: path),
                   log: try measured("/usr/bin/git", ["log", "--notes=autoresearch", "-n", "20", "autoresearch/bench"], in: path))
        // The last kept run by the end of its id (read with git, so the index is not built yet): every entry's id is looked at.
        let lastKeep = RunRecord.parseAll(try runProgram("/usr/bin/git", ["notes", "--ref=autoresearch", "show", "autoresearch/bench"], in: path).stdout).last!
        print("  \(grouped(size + keeps)) records (ready in \(String(format: "%.1f s", now() - started))): git cat-file --batch of every note \(both(git.catFile)), git log --notes -n 20 \(both(git.log))")
        for (label, arguments) in commands + [("show RUN", ["show", String(lastKeep.run.suffix(6))])]
            where !label.hasPrefix("log --format") || size <= fullLogLimit {
            let first = try measured(toolPath, arguments, in: path)
            let runs = try (0..<3).map { _ in try measured(toolPath, arguments, in: path) }
            let warm = (wall: median(runs.map(\.wall)), cpu: median(runs.map(\.cpu)))
            var cells = ["    " + label.padding(toLength: 19, withPad: " ", startingAt: 0), "first " + both(first).leftPadded(24),
                         "warm " + both(warm).leftPadded(24)]
            let reference = label == "log -n 20" ? ("git log -n 20", git.log) : label.hasPrefix("log") ? ("cat-file", git.catFile) : nil
            if let reference { cells.append(String(format: "%8.2fx of %@ (wall)", warm.wall / reference.1.wall, reference.0)) }
            // The binary before may not know the newer options (report --format html/svg, log -n, log's filters).
            if !before.isEmpty, size <= beforeLimit, !arguments.contains("--format"), !arguments.contains("-n"),
               !arguments.contains(where: ["--where", "--grep", "--since"].contains) {
                cells.append("before: " + both(try measured(before, arguments, in: path)).leftPadded(24))
            }
            print(cells.joined(separator: "   "))
        }
    }
}

/// (k) Process start: `--version`, and `status` on a 200-file project with one run, each the
/// median of `--starts` runs, next to `git --version` and `git status`; with `--before-binary`,
/// the same for that binary.
func processStart() throws {
    let count = number("--starts", 50)
    let before = option("--before-binary", "")
    let repo = try makeProject()
    try runProgram(toolPath, ["init", "--name", "bench", "--eval", "sh eval.sh", "--metric", "score"], in: repo.path)
    try runProgram(toolPath, ["run", "-q"], in: repo.path)
    // Interleaved, round by round, so that the machine's state weighs on each binary alike.
    let subjects = [("git-autoresearch", toolPath)] + (before.isEmpty ? [] : [("before (--before-binary)", before)]) + [("git", "/usr/bin/git")]
    let commands = [["--version"], ["status"]]
    var walls = Array(repeating: Array(repeating: [Double](), count: commands.count), count: subjects.count)
    for round in 0..<count {
        for offset in subjects.indices {
            let subject = (round + offset) % subjects.count
            for (command, arguments) in commands.enumerated() {
                walls[subject][command].append(try measured(subjects[subject].1, arguments, in: repo.path).wall)
            }
        }
    }
    print("\n(k) Process start: wall time, median of \(count) runs each, interleaved, 200-file project with one run")
    for (subject, (label, _)) in subjects.enumerated() {
        print("  " + label.padding(toLength: 50, withPad: " ", startingAt: 0) + "--version " + ms(median(walls[subject][0])).leftPadded(9)
              + "   status " + ms(median(walls[subject][1])).leftPadded(9))
    }
}

/// The parts `--only` runs by themselves (a comma-separated list of letters, e.g. `--only i,j`);
/// `--only a` runs part (a) alone.
let selectableParts: [String: () throws -> Void] = ["h": ledgerReads, "i": workTreeIteration, "j": hookOnLargeTree, "k": processStart,
                                                     "m": slurmWorkers, "n": workerClone]
if case let only = option("--only", ""), !only.isEmpty, only != "a" {
    for part in only.split(separator: ",").map(String.init) {
        guard let run = selectableParts[part] else { exitWithUsage("--only takes a (alone) or a list of \(selectableParts.keys.sorted().joined(separator: ", ")), not \(part)") }
        try run()
    }
    exit(0)
}

// MARK: (a) one iteration: tool vs git CLI

print("git-autoresearch benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
print("\n(a) One iteration, evaluation excluded: \(iterations) iterations, half kept, half discarded, 200-file project")

// The four ways side by side, interleaved iteration by iteration (so that the machine's load
// and the file system's state weigh on each alike): the tool as users run it (one `git
// autoresearch run` process per iteration), the library in-process (what a long-running loop
// pays), the writes alone in-process (the issue's "cost of its writes", through the Git module:
// status, stage, commit, branch update, note, reset on a discard; no evaluator, record format,
// locks, recovery marker, attempts chain or checks), and the same steps with the git CLI: add,
// commit, (evaluate, not timed), notes append, keep the attempt reachable with update-ref, and
// reset --hard to the best commit on a discard.
let cliRepo = try makeProject()
try runProgram(toolPath, ["init", "--name", "bench", "--eval", "sh eval.sh", "--metric", "score", "--budget", "10s"], in: cliRepo.path)
try runProgram(toolPath, ["run", "-q"], in: cliRepo.path)
let libraryRepo = try makeProject()
let libraryWorkspace = try Workspace(discoveringFrom: libraryRepo.path)
try initExperiment(libraryWorkspace)
_ = try libraryWorkspace.runOnce(experiment: "bench")
let gitRepo = try makeProject()
var best = try gitRepo.gitLine("rev-parse", "HEAD")
var bestScore = 1000
var cliOverheads: [Double] = [], cliCPU: [Double] = []
var libraryOverheads: [Double] = [], libraryCPU: [Double] = []
var gitOverheads: [Double] = [], gitCPU: [Double] = [], evaluatorCPU: [Double] = []
let writesRepo = try makeProject()
let writesRepository = try Repository(path: writesRepo.path)
guard case .branch(let writesBranch, let writesBase?) = try writesRepository.head() else { fatalError("no branch in \(writesRepo.path)") }
var writesBest = writesBase
var writesOverheads: [Double] = [], writesCPU: [Double] = []

@MainActor func cliIteration(_ index: Int) throws {
    try edit(cliRepo, index)
    let started = now(), cpuStarted = cpuTime()
    let output = try runProgram(toolPath, ["run", "--format", "json", "-m", "change \(index)"], in: cliRepo.path)
    let wall = now() - started
    cliCPU.append(cpuTime() - cpuStarted)
    let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
    cliOverheads.append(wall - (object?["duration"] as? Double ?? 0))
}

@MainActor func libraryIterationTimed(_ index: Int) throws {
    try edit(libraryRepo, index)
    let cpuStarted = cpuTime()
    libraryOverheads.append(try libraryIteration(libraryWorkspace, message: "change \(index)"))
    libraryCPU.append(cpuTime() - cpuStarted)
}

@MainActor func gitIteration(_ index: Int) throws {
    try edit(gitRepo, index)
    var spent = 0.0, spentCPU = 0.0
    func timed(_ arguments: [String]) throws -> String {
        let started = now(), cpuStarted = cpuTime()
        let output = try gitRepo.git(arguments)
        spent += now() - started
        spentCPU += cpuTime() - cpuStarted
        return output
    }
    _ = try timed(["add", "-A"])
    _ = try timed(["commit", "-q", "-m", "change \(index)"])
    let candidate = try timed(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
    // The evaluator as the tool runs it (`/bin/sh -c "sh eval.sh"`), the harness's own work left out.
    let evaluatorStarted = cpuTime(includingOwn: false)
    let score = Int(try runProgram("/bin/sh", ["-c", "sh eval.sh"], in: gitRepo.path).stdout.split(separator: " ")[1]
        .trimmingCharacters(in: .whitespacesAndNewlines))!
    evaluatorCPU.append(cpuTime(includingOwn: false) - evaluatorStarted)
    let keep = score < bestScore
    _ = try timed(["notes", "--ref=autoresearch", "append", "-m", "v=1 experiment=bench run=\(index) status=\(keep ? "keep" : "discard") metric=score value=\(score)", candidate])
    _ = try timed(["update-ref", "refs/autoresearch/bench/runs/\(index)", candidate])
    if keep { best = candidate; bestScore = score } else { _ = try timed(["reset", "-q", "--hard", best]) }
    gitOverheads.append(spent)
    gitCPU.append(spentCPU)
}

@MainActor func writesIteration(_ index: Int) throws {
    try edit(writesRepo, index)
    let started = now(), cpuStarted = cpuTime()
    let tree = try writesRepository.stage(try writesRepository.workTreeStatus().entries)
    let candidate = try writesRepository.createCommit(tree: tree, parents: [writesBest], message: "change \(index)\n")
    try writesRepository.setReference(writesBranch, to: candidate, message: "commit: change \(index)")
    let keep = index % 2 == 0  // what `edit` made: a better value on even iterations
    _ = try writesRepository.appendNote(ref: "refs/notes/autoresearch", on: candidate,
                                        text: "v=1 experiment=bench run=\(index) status=\(keep ? "keep" : "discard") metric=score")
    if keep { writesBest = candidate } else { try writesRepository.resetHard(to: writesBest) }
    writesOverheads.append(now() - started)
    writesCPU.append(cpuTime() - cpuStarted)
}

/// `--loop-only`: the loop line alone, next to the writes alone (to profile the loop).
let loopOnly = arguments.contains("--loop-only")
let ways = loopOnly ? [writesIteration] : [cliIteration, libraryIterationTimed, writesIteration, gitIteration]
for index in 0..<iterations {
    // Each iteration starts with another of the three, so none always follows the same one.
    for offset in 0..<ways.count { try ways[(index + offset) % ways.count](index) }
}

// CPU time (user + system, children included) less the evaluator's own (`sh eval.sh` alone, median).
let evaluatorMedian = evaluatorCPU.isEmpty ? 0 : median(evaluatorCPU)
for (label, values, cpu) in [("git autoresearch run (one CLI process per iteration)", cliOverheads, cliCPU.map { $0 - evaluatorMedian }),
                             ("library runOnce (in-process, one run per call)", libraryOverheads, libraryCPU.map { $0 - evaluatorMedian }),
                             ("the writes alone (in-process: status, stage, commit, ref, note, reset)", writesOverheads, writesCPU),
                             ("git CLI: add, commit, rev-parse, notes append, update-ref, reset", gitOverheads, gitCPU)] where !values.isEmpty {
    print("  " + label.padding(toLength: 72, withPad: " ", startingAt: 0)
          + "\(ms(median(values))) median, \(ms(values.reduce(0, +) / Double(values.count))) mean, CPU \(ms(median(cpu))) median")
}
if !loopOnly {
    print(String(format: "  ratio git CLI / tool: %.1fx (CLI process), %.1fx (in-process); in CPU time %.1fx, %.1fx (the evaluator's %.2f ms subtracted)",
                 median(gitOverheads) / median(cliOverheads), median(gitOverheads) / median(libraryOverheads),
                 median(gitCPU) / median(cliCPU.map { $0 - evaluatorMedian }), median(gitCPU) / median(libraryCPU.map { $0 - evaluatorMedian }),
                 evaluatorMedian * 1000))
    print(String(format: "  ratio library / the writes alone: %.2fx (wall), %.2fx (CPU)", median(libraryOverheads) / median(writesOverheads),
                 median(libraryCPU.map { $0 - evaluatorMedian }) / median(writesCPU)))
}
// A loop in process, as `git autoresearch loop` runs it: the lock held once, an agent (the same
// two edits as `edit`, made by a script outside the project) before each evaluation. Not
// interleaved with the ways above (one call runs every iteration); the first iteration, which
// takes the lock and reads the history, is left out. The overhead is the time between two
// iterations' ends less the agent step's and the evaluation's (`LoopTimes`).
let loopRepo = try makeProject()
let loopWorkspace = try Workspace(discoveringFrom: loopRepo.path)
try initExperiment(loopWorkspace)
_ = try loopWorkspace.runOnce(experiment: "bench")
let agentPath = scratch + "/agent.sh"
try """
i=$AUTORESEARCH_ITERATION
if [ $((i % 2)) = 1 ]; then echo $((900 - i)) > value.txt; else echo 5000 > value.txt; fi
printf 'def f(x):\n    return x + %d\n' "$i" > "src/module$((i % 200)).py"

""".write(toFile: agentPath, atomically: true, encoding: .utf8)
let loop = try LoopTimes(loopWorkspace, agentScript: agentPath, iterations: iterations)
let loopOverheads = loop.overheads
print("  " + "library loop (in-process, lock held once, an agent edits)".padding(toLength: 72, withPad: " ", startingAt: 0)
      + "\(ms(median(loopOverheads))) median, \(ms(loopOverheads.reduce(0, +) / Double(loopOverheads.count))) mean, own CPU \(ms(median(loop.cpu))) median (\(loopOverheads.count) iterations after the first)")
let (keeps, discards) = (zip(loopOverheads, loop.kept).filter(\.1).map(\.0), zip(loopOverheads, loop.kept).filter { !$0.1 }.map(\.0))
print(String(format: "  ratio loop / the writes alone: %.2fx (wall); the loop's keeps %@, its discards %@ (medians)",
             median(loopOverheads) / median(writesOverheads), keeps.isEmpty ? "-" : ms(median(keeps)), discards.isEmpty ? "-" : ms(median(discards))))
if option("--only", "") == "a" { exit(0) }

// MARK: (b) one record as the ledger grows

print("\n(b) One record as the ledger grows: \(appendsPerSize) records appended (ledger write) and \(appendsPerSize / 5) full iterations at each size")
print("  ledger records   build   record write (median)   record read (median)   new object bytes per record   iteration overhead (median)   loop iteration (median)   merge 50 + 50 records")
for size in ledgerSizes {
    let repo = try makeProject()
    let repository = try Repository(path: repo.path)
    let buildStarted = now()
    // A ledger of `size` records on distinct objects, written as the fanout tree appendNote keeps.
    let line = "v=1 experiment=old run=20260101-000000-000000 status=discard metric=score value=1 direction=lower duration=1.000 start=2026-01-01T00:00:00.000Z host=bench desc=\"\"\n"
    let blob = try repository.createBlob(Array(line.utf8))
    try writeBulkLedger(repository, notes: (0..<size).map { _ in (randomHex(), blob) })
    let buildTime = now() - buildStarted
    sync()  // the build's writeback is not part of what is measured next

    let ledger = Ledger(repository: repository)
    let bytesBefore = objectBytes(repo)
    var writes: [Double] = [], reads: [Double] = []
    for index in 0..<appendsPerSize {
        let target = try repository.createBlob(Array("target \(index) \(UUID())".utf8))
        let record = RunRecord(experiment: "bench", run: RunID.make(), status: .discard, metric: "score", value: Double(index),
                               bestBefore: 1, direction: .lower, duration: 1, start: Date(), exitCode: 0, reason: nil,
                               description: "bench \(index)", host: "bench")
        let started = now()
        try ledger.append(record, on: target)
        writes.append(now() - started)
        let readStarted = now()
        _ = try ledger.records(on: target, experiment: "bench")
        reads.append(now() - readStarted)
    }
    let targetBlobBytes = 30 * appendsPerSize  // the annotated blobs themselves, not part of a record
    let bytesPerRecord = (objectBytes(repo) - bytesBefore - targetBlobBytes) / appendsPerSize

    let workspace = try Workspace(discoveringFrom: repo.path)
    try initExperiment(workspace)
    _ = try workspace.runOnce(experiment: "bench")
    var overheads: [Double] = []
    for index in 0..<(appendsPerSize / 5) {
        try edit(repo, index)
        overheads.append(try libraryIteration(workspace, message: "change \(index)"))
    }
    // The loop, with an agent that writes a new value each time: time between consecutive runs,
    // the agent's and the evaluator's processes included.
    var options = LoopOptions()
    options.agent = "echo $(( $$ % 1000 )) > value.txt"
    options.maxRuns = appendsPerSize / 5
    var finished: [Double] = [now()]
    _ = try workspace.loop(experiment: "bench", options: options) { _ in finished.append(now()) }
    let loopIterations = zip(finished.dropFirst(), finished).map { $0 - $1 }

    // Sharing: another machine appended 50 records since the last sync, and so did we; time
    // the union merge (what pull and push do).
    let theirsRef: ReferenceName = "refs/notes/bench-theirs"
    try repository.setReference(theirsRef, to: try repository.referenceTarget(Refs.notes)!, message: "bench: fork")
    for side in [theirsRef, Refs.notes] {
        for index in 0..<50 {
            let target = try repository.createBlob(Array("\(side) \(index) \(UUID())".utf8))
            try repository.appendNote(ref: side, on: target, text: "v=1 experiment=bench run=\(RunID.make()) status=discard metric=score direction=lower duration=1 start=2026-01-01T00:00:00.000Z host=\(side) desc=\"\"")
        }
    }
    let mergeStarted = now()
    try repository.mergeNotes(ref: Refs.notes, theirs: try repository.referenceTarget(theirsRef)!, message: "bench: merge")
    let mergeTime = now() - mergeStarted

    let cells = [grouped(size).leftPadded(14), String(format: "%5.1fs", buildTime), ms(median(writes)).leftPadded(21),
                 ms(median(reads)).leftPadded(20),
                 grouped(bytesPerRecord).leftPadded(27), ms(median(overheads)).leftPadded(27),
                 ms(median(loopIterations)).leftPadded(23), ms(mergeTime).leftPadded(24)]
    print("  " + cells.joined(separator: "   "))
}

// MARK: (e) the pre-commit hook on a 10,000-file repository

try hookOnTree(part: "e", files: 10_000)

// MARK: (g) parallel workers: runs per minute with an evaluator that sleeps 1 s

/// How long each loop of (g) and (m) runs.
func parallelSeconds() -> Double { number("--parallel-seconds", 30.0) }

/// `loop --jobs N` plus `extra` on a fresh project for `parallelSeconds` (the baseline measured
/// first), the evaluator `sleep 1`, the agent a one-line edit: its runs and their rate.
func loopRunsPerMinute(jobs: Int, extra: [String] = [], environment: [String: String] = [:]) throws -> (runs: Int, elapsed: Double, perMinute: Double) {
    let repo = try makeProject()
    try repo.write("eval.sh", "sleep 1\necho \"score: $(cat value.txt)\"\n")
    try repo.git(["commit", "-qam", "sleeping evaluator"])
    try initExperiment(try Workspace(discoveringFrom: repo.path))
    let agent = "echo $(( $(od -An -N2 -tu2 /dev/urandom) % 1000 )) > value.txt"
    // The baseline first, so that every configuration measures agent iterations only.
    _ = try runProgram(toolPath, ["run"], in: repo.path)
    let started = now()
    let output = try runProgram(toolPath, ["loop", "--jobs", String(jobs), "--agent", agent,
                                           "--max-time", "\(Int(parallelSeconds()))s", "--format", "json"] + extra,
                                in: repo.path, environment: environment)
    let elapsed = now() - started
    let runs = output.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"run\"") }.count
    return (runs, elapsed, Double(runs) / elapsed * 60)
}

/// One line of (g) or (m): runs, time, rate, and the rate against `reference`.
func rateLine(_ label: String, _ result: (runs: Int, elapsed: Double, perMinute: Double), reference: Double?, referenceLabel: String) -> String {
    let ratio = reference.map { String(format: "%.2fx", result.perMinute / $0) } ?? "-"
    return "  \(label): \(result.runs) runs in \(String(format: "%.1f", result.elapsed)) s = \(String(format: "%.1f", result.perMinute)) runs/min   \(ratio) of \(referenceLabel)"
}

// MARK: (m) SLURM workers next to local workers

/// `loop --jobs N --launcher slurm` on a one-node SLURM cluster started here, next to `loop --jobs N`:
/// what the scheduler (sbatch, scontrol once a second, output through files) costs per run.
func slurmWorkers() throws {
    let jobs = number("--slurm-jobs", 2)
    print("\n(m) SLURM workers next to local workers (loop --jobs \(jobs), then with --launcher slurm): runs per minute for \(Int(parallelSeconds())) s each, evaluator `sleep 1`, agent a one-line edit")
    if let why = SlurmCluster.unavailable {
        print("  skipped: \(why)")
        return
    }
    let cluster = try SlurmCluster()
    let local = try loopRunsPerMinute(jobs: jobs)
    print(rateLine("local, \(jobs) workers", local, reference: nil, referenceLabel: "local"))
    let slurm = try loopRunsPerMinute(jobs: jobs, extra: ["--launcher", "slurm"], environment: cluster.environment)
    print(rateLine("slurm, \(jobs) workers", slurm, reference: local.perMinute, referenceLabel: "local"))
}

// MARK: (n) a worker's clone: what the job ran with git, then with the tool

/// (n) What a job of `loop --worker-tree clone` does around its worker, on a remote with
/// `--clone-sizes` records reached by path and through `git daemon` on 127.0.0.1: with git as its
/// script did (`git clone --branch`, after which the worker's first `pull` brought the records; at
/// the end `git rev-parse`, `git fetch` of the records and `git merge-base --is-ancestor`), next to
/// the tool now (`clone-for-worker`, which pulls the records itself; `records-pushed`), median wall
/// time of `--clones` fresh clones each.
func workerClone() throws {
    let count = number("--clones", 5)
    let sizes = option("--clone-sizes", "1000,10000").split(separator: ",").compactMap { Int($0) }
    print("\n(n) A worker's clone (loop --worker-tree clone): the job with git, then with the tool, median wall time of \(count) each")
    for size in sizes {
        let remote = try projectWithLedger(size: size, keeps: 2000)
        let daemon = try GitDaemon(serving: remote)
        for (transport, url) in [("path", remote), ("git daemon", daemon.url)] {
            print("  \(grouped(size)) records, \(transport): " + (try workerCloneTimes(url: url, count: count)))
        }
    }
}

/// One line of (n): the job's steps with git and with the tool, cloning `url` `count` times.
func workerCloneTimes(url: String, count: Int) throws -> String {
    let scratch = NSTemporaryDirectory() + "autoresearch-bench-clone-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    var times: [String: [Double]] = [:]
    func time(_ label: String, _ executable: String, _ arguments: [String], in directory: String) throws {
        times[label, default: []].append(try measured(executable, arguments, in: directory).wall)
    }
    for trial in 0..<count {
        let (withGit, withTool) = (scratch + "/git-\(trial)", scratch + "/tool-\(trial)")
        try time("git clone", "/usr/bin/git", ["clone", "-q", "--branch", "autoresearch/bench", "--", url, withGit], in: scratch)
        try time("pull", toolPath, ["pull"], in: withGit)
        try time("clone-for-worker", toolPath, ["clone-for-worker", "--experiment", "bench", "--", url, withTool], in: scratch)
        let check = ["rev-parse -q --verify refs/notes/autoresearch", "fetch -q origin refs/notes/autoresearch",
                     "merge-base --is-ancestor refs/notes/autoresearch FETCH_HEAD"]
        for command in check { try time("git check", "/usr/bin/git", command.split(separator: " ").map(String.init), in: withGit) }
        try time("records-pushed", toolPath, ["records-pushed"], in: withTool)
    }
    // The three git commands of the check are one step: their sum per trial.
    let gitCheck = stride(from: 0, to: times["git check"]!.count, by: 3).map { times["git check"]![$0..<$0 + 3].reduce(0, +) }
    let (gitClone, pull, toolClone) = (median(times["git clone"]!), median(times["pull"]!), median(times["clone-for-worker"]!))
    return "start: git clone \(ms(gitClone)) + the worker's first pull \(ms(pull)) = \(ms(gitClone + pull))"
        + "; clone-for-worker \(ms(toolClone)) (\(String(format: "%.2fx", toolClone / (gitClone + pull))))"
        + "   end: git rev-parse, fetch, merge-base \(ms(median(gitCheck))); records-pushed \(ms(median(times["records-pushed"]!)))"
}

let workerCounts = option("--workers", "1,2,4").split(separator: ",").compactMap { Int($0) }
print("\n(g) Parallel workers (loop --jobs N): runs per minute for \(Int(parallelSeconds())) s each, evaluator `sleep 1`, agent a one-line edit")
var perMinute: [Int: Double] = [:]
for workers in workerCounts {
    let result = try loopRunsPerMinute(jobs: workers)
    perMinute[workers] = result.perMinute
    print(rateLine("\(workers) worker(s)", result, reference: perMinute[workerCounts[0]], referenceLabel: "\(workerCounts[0]) worker(s)"))
}

try slurmWorkers()
try workerClone()
try ledgerReads()
try processStart()
try workTreeIteration()
try hookOnLargeTree()
