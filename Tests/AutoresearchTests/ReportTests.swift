import Foundation
import Testing
import Fixtures

/// A scenario repository with five runs (made in process): baseline 10, keep 5, discard 7, crash, keep 4.
func repositoryWithRuns() throws -> TempRepository {
    let repo = try scenarioRepository()
    try repo.runIteration()
    for (candidate, message) in [("value 5", "five"), ("value 7", "seven"), ("crash", "broken"), ("value 4", "four")] {
        try repo.write("candidate.txt", candidate + "\n")
        try repo.runIteration(message: message)
    }
    return repo
}

func jsonArray(_ text: String) -> [[String: Any]] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
}

/// The reports the binary prints (log, show, best, list, export, import): their formats are the
/// command line's, so they run through the binary, on runs made in process.
@Suite(.ownThreads) struct ReportTests {
    @Test func logInEveryFormatWithFiltersAndOrder() throws {
        let repo = try repositoryWithRuns()
        let table = try Tool.run(["log"], in: repo)
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.count == 6)
        #expect(lines[0].hasPrefix("RUN") && lines[0].contains("SCORE") && lines[0].contains("DESCRIPTION"))
        #expect(lines[1].contains("baseline") && lines[3].contains("discard") && lines[3].contains("+2") && lines[3].contains("seven"))

        let json = jsonArray(try Tool.run(["log", "--format", "json"], in: repo).stdout)
        #expect(json.map { $0["status"] as? String } == ["keep", "keep", "discard", "crash", "keep"])
        #expect(json.compactMap { $0["value"] as? Double } == [10, 5, 7, 4])

        let tsv = try Tool.run(["log", "--format", "tsv"], in: repo).stdout.split(separator: "\n")
        #expect(tsv[0] == "run\tcommit\tstatus\tscore\tdelta\tduration\tdescription")
        let csv = try Tool.run(["log", "--format", "csv", "--status", "discard"], in: repo).stdout.split(separator: "\n")
        // Machine formats: the full hash, exact numbers, seconds; --human gives the table's text.
        let discard = try #require(jsonArray(try Tool.run(["log", "--format", "json", "--status", "discard"], in: repo).stdout).first)
        #expect(csv.count == 2 && csv[1].contains(",\(discard["commit"] as? String ?? "-"),discard,7,2,"), "\(csv)")
        #expect(csv[1].contains(String(format: ",%.3f,", discard["duration"] as? Double ?? -1)))
        let human = try Tool.run(["log", "--format", "csv", "--human", "--status", "discard"], in: repo).stdout.split(separator: "\n")
        #expect(human.count == 2 && human[1].contains(",discard,7,+2,") && !human[1].contains(discard["commit"] as? String ?? "-"))
        let markdown = try Tool.run(["log", "--format", "markdown", "--limit", "2"], in: repo).stdout.split(separator: "\n")
        #expect(markdown.count == 4 && markdown[1] == "| --- | --- | --- | --- | --- | --- | --- |" && markdown[3].contains("| four |"))
        let best = jsonArray(try Tool.run(["log", "--format", "json", "--sort", "metric", "--limit", "1"], in: repo).stdout)
        #expect(best.first?["value"] as? Double == 4)

        let bad = try Tool.run(["log", "--status", "great"], in: repo)
        #expect(bad.status == 64 && bad.stderr.contains("'great'") && bad.stderr.contains("agent-error"))
    }

    @Test func showGivesTheRecordTheLogKeptInGitAndTheChange() throws {
        let repo = try repositoryWithRuns()
        let runs = jsonArray(try Tool.run(["log", "--format", "json", "--status", "discard"], in: repo).stdout)
        let id = try #require(runs.first?["run"] as? String)
        // The local log file is gone: what is shown comes from git.
        try FileManager.default.removeItem(atPath: repo.path + "/.git/autoresearch/s/logs")
        // The shortest prefix of 18 characters or more that names this run alone (two runs of the
        // same second may share the first digits of their random part).
        let ids = jsonArray(try Tool.run(["log", "--format", "json"], in: repo).stdout).compactMap { $0["run"] as? String }
        let prefix = try #require((18...id.count).lazy.map { String(id.prefix($0)) }.first { prefix in ids.filter { $0.hasPrefix(prefix) }.count == 1 })
        let show = try Tool.run(["show", prefix], in: repo)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("run=\(id) status=discard"))
        #expect(show.stdout.contains("  | training...") && show.stdout.contains("  | score: 7"))
        #expect(show.stdout.contains("-value 5") && show.stdout.contains("+value 7"))
        // Kept after the record, in its note (one notes commit per run).
        #expect(try repo.git(["notes", "--ref", "autoresearch", "show", runs[0]["commit"] as? String ?? ""]).contains("log=002 run=\(id) text=\"score: 7\""))

        let missing = try Tool.run(["show", "19990101"], in: repo)
        #expect(missing.status == 1 && missing.stderr.contains("no run '19990101'"))
    }

    @Test func bestAndTheLongList() throws {
        let repo = try repositoryWithRuns()
        let best = try Tool.run(["best", "--format", "json"], in: repo)
        let object = try #require((try? JSONSerialization.jsonObject(with: Data(best.stdout.utf8))) as? [String: Any])
        #expect(object["value"] as? Double == 4)
        #expect(object["commit"] as? String == (try repo.gitLine("rev-parse", "autoresearch/s")))
        #expect(object["improvement"] as? Double == 0.6)
        #expect(try Tool.run(["best"], in: repo).stdout.hasSuffix(" score=4\n"))

        let list = try Tool.run(["list", "--long"], in: repo).stdout.split(separator: "\n")
        #expect(list[0].contains("KEPT") && list[0].contains("CHANGE") && list[0].contains("LAST RUN"))
        #expect(list[1].contains("+60.00%"))
        let json = jsonArray(try Tool.run(["list", "--long", "--format", "json"], in: repo).stdout)
        #expect(json.first?["kept"] as? Int == 3 && json.first?["runs"] as? Int == 5)
    }

    @Test func exportImportRoundTripInAFreshClone() throws {
        let repo = try repositoryWithRuns()
        let exported = try Tool.run(["export", "--format", "tsv"], in: repo).stdout
        let lines = exported.split(separator: "\n")
        #expect(lines.count == 6)
        #expect(lines[0] == "commit\tmetric\tstatus\tdescription")
        #expect(lines[1].contains("\t10.000000\tbaseline\t"))
        #expect(lines[3].hasSuffix("\t7.000000\tdiscard\tseven") && lines[4].hasSuffix("\tN/A\tcrash\tbroken"))

        let remote = try TempRepository(bare: true)
        try repo.git(["push", "-q", remote.path, "refs/heads/*:refs/heads/*", "refs/autoresearch/*:refs/autoresearch/*"])
        let clone = try TempRepository(cloneOf: remote.path)
        try clone.git(["fetch", "-q", "origin", "refs/autoresearch/*:refs/autoresearch/*"])
        try clone.git(["switch", "-q", "autoresearch/s"])
        try exported.write(toFile: clone.path + "/.git/results.tsv", atomically: true, encoding: .utf8)
        let imported = try Tool.run(["import", ".git/results.tsv"], in: clone)
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        #expect(imported.stdout.contains("imported 5 runs"))
        #expect(try Tool.run(["export"], in: clone).stdout == exported)

        // Importing again skips every row, and says why.
        let again = try Tool.run(["import", ".git/results.tsv"], in: clone)
        #expect(again.status == 2 && again.stdout.contains("line 2: already imported from this file"))
        try clone.fsck()
    }

    @Test func importReadsKarpathysLayoutAndReportsWhatItSkips() throws {
        let repo = try scenarioRepository()
        let head = try repo.gitLine("rev-parse", "--short", "HEAD")
        try """
        commit\tval_bpb\tmemory_gb\tstatus\tdescription
        \(head)\t0.997900\t44.0\tkeep\tbaseline
        deadbee\t0.993200\t44.2\tkeep\tincrease LR
        \(head)\t0.000000\t0.0\texploded\tbad status
        \(head)\tabc\t1\tdiscard\tbad number

        """.write(toFile: repo.path + "/.git/results.tsv", atomically: true, encoding: .utf8)
        let output = try Tool.run(["import", ".git/results.tsv"], in: repo)
        #expect(output.status == 2)
        #expect(output.stdout.contains("imported 1 run into 's', skipped 3:"))
        #expect(output.stdout.contains("line 3: commit deadbee is not in this repository"))
        #expect(output.stdout.contains("line 4: unknown status 'exploded'"))
        #expect(output.stdout.contains("line 5: metric 'abc' is not a number"))
        #expect(try repo.git(["notes", "--ref", "autoresearch", "show", "HEAD"]).contains("value=0.9979 "))

        let notTSV = try Tool.run(["import", "candidate.txt"], in: repo)
        #expect(notTSV.status == 1 && notTSV.stderr.contains("not a results.tsv"))
    }
}
