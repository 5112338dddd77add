import Autoresearch
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Fixtures
import Testing

/// The HTML and SVG reports and the best-so-far line, through the binary, on runs made in
/// process (`repositoryWithRuns`: baseline 10, keep 5, discard 7, crash, keep 4).
@Suite(.ownThreads) struct HTMLReportTests {
    /// The run ids of `repo`'s experiment in ledger order, and those of the kept ones.
    func runIDs(_ repo: TempRepository) throws -> (all: [String], kept: [String]) {
        let runs = jsonArray(try Tool.run(["log", "--format", "json"], in: repo).stdout)
        return (runs.compactMap { $0["run"] as? String }, runs.filter { $0["status"] as? String == "keep" }.compactMap { $0["run"] as? String })
    }

    /// The elements of `html` matching `pattern`'s first group, in order.
    func matches(_ pattern: String, in html: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { String(html[Range($0.range(at: 1), in: html)!]) }
    }

    /// The SVG element with this id in `html`.
    func svg(_ id: String, in html: String) -> String {
        guard let start = html.range(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(id)\"") else { return "" }
        return String(html[start.lowerBound..<(html.range(of: "</svg>", range: start.upperBound..<html.endIndex)?.upperBound ?? html.endIndex)])
    }

    @Test func htmlPageHasEveryRunTheFrontierAndDetailsAndIsTheSameBytesInAClone() throws {
        let repo = try repositoryWithRuns()
        let (all, kept) = try runIDs(repo)
        let first = try Tool.run(["report", "--format", "html"], in: repo)
        #expect(first.status == 0, "\(first.stderr)")
        let html = first.stdout
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("default-src 'none'"))
        for axis in ["run", "time"] {
            let chart = svg("exp-s-progress-\(axis)", in: html)
            #expect(matches("<circle class=\"dot st-[a-z-]+\" data-run=\"([^\"]+)\"", in: chart) == all)
            #expect(matches("<polyline class=\"frontier\" data-runs=\"([^\"]+)\"", in: chart) == [kept.joined(separator: " ")])
        }
        // Every run has its details, and every link in the page points into it.
        #expect(Set(matches("<details class=\"run\" id=\"run-([^\"]+)\"", in: html)) == Set(all))
        let ids = Set(matches(" id=\"([^\"]+)\"", in: html))
        let links = matches(" href=\"([^\"]*)\"", in: html)
        #expect(!links.isEmpty && links.allSatisfy { $0.hasPrefix("#") && ids.contains(String($0.dropFirst())) })
        #expect(matches(" src=\"([^\"]*)\"", in: html).isEmpty)
        // Summary, top runs, the change of a run against its parent and against the best.
        #expect(html.contains("<td>10</td><td>4</td><td>+60.00%</td><td>5 (3 keep, 1 discard, 1 crash)</td>"))
        #expect(html.contains("<h3>Top 4 runs</h3>") && html.contains("<span class=\"add\">+value 7</span>"))
        #expect(html.contains("<h4>Against the best (run \(kept.last!)"))

        // Twice the same bytes, and the same in a clone with the records and branches.
        #expect(try Tool.run(["report", "--format", "html"], in: repo).stdout == html)
        let remote = try TempRepository(bare: true)
        try repo.git(["push", "-q", remote.path, "refs/heads/*:refs/heads/*", "refs/autoresearch/*:refs/autoresearch/*", "refs/notes/*:refs/notes/*"])
        let clone = try TempRepository(cloneOf: remote.path)
        try clone.git(["fetch", "-q", "origin", "refs/heads/autoresearch/*:refs/heads/autoresearch/*",
                       "refs/autoresearch/*:refs/autoresearch/*", "refs/notes/*:refs/notes/*"])
        let cloned = try Tool.run(["report", "--format", "html"], in: clone)
        #expect(cloned.status == 0, "\(cloned.stderr)")
        #expect(cloned.stdout == html)

        // -o DIR writes DIR/index.html.
        let directory = repo.path + "/.git/site"
        #expect(try Tool.run(["report", "--format", "html", "-o", directory + "/"], in: repo).status == 0)
        #expect(try String(contentsOfFile: directory + "/index.html", encoding: .utf8) == html)
    }

    /// Put into a copy of the page: records, on the body, the resources the page loaded and the
    /// loads its policy blocked, then sorts the runs table by the metric and filters it to kept runs.
    static let probe = """
    <script>
    var blocked = 0;
    document.addEventListener('securitypolicyviolation', function () { blocked++; });
    window.addEventListener('load', function () {
      var body = document.body, table = document.querySelector('table.runs');
      body.setAttribute('data-resources', String(performance.getEntriesByType('resource').length));
      body.setAttribute('data-blocked', String(blocked));
      table.tHead.rows[0].cells[3].click();
      body.setAttribute('data-sorted', Array.prototype.map.call(table.tBodies[0].rows, function (row) { return row.cells[3].textContent; }).join(' '));
      var select = document.querySelector('select.status-filter');
      select.value = 'keep';
      select.dispatchEvent(new Event('change'));
      body.setAttribute('data-shown', String(Array.prototype.filter.call(table.tBodies[0].rows, function (row) { return !row.hidden; }).length));
    });
    </script>
    """

    @Test(.enabled(if: HeadlessBrowser.path != nil, "no chromium on PATH: .ci/run installs Debian's chromium"))
    func theReportInARealHeadlessBrowser() throws {
        let repo = try repositoryWithRuns()
        let (all, kept) = try runIDs(repo)
        let site = repo.path + "/.git/site"
        #expect(try Tool.run(["report", "--format", "html", "-o", site + "/"], in: repo).status == 0)
        let html = try String(contentsOfFile: site + "/index.html", encoding: .utf8)
        try html.replacingOccurrences(of: "<head>\n", with: "<head>\n" + Self.probe + "\n").write(toFile: site + "/probe.html", atomically: true, encoding: .utf8)
        let browser = try #require(HeadlessBrowser(profile: repo.path + "/.git/chromium"))

        try browser.screenshot("file://\(site)/index.html", to: site + "/report.png")
        let png = try Data(contentsOf: URL(fileURLWithPath: site + "/report.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000)

        // Opened on a run's link: its details are there, and opened; no other is.
        let discarded = all[2]
        let dom = try browser.dom("file://\(site)/probe.html#run-\(discarded)")
        #expect(matches("<details class=\"run\" id=\"run-([^\"]+)\" open=\"\"", in: dom) == [discarded])
        let chart = svg("exp-s-progress-run", in: dom)
        #expect(matches("<circle class=\"dot st-[a-z-]+\" data-run=\"([^\"]+)\"", in: chart) == all)
        #expect(matches("<polyline class=\"frontier\" data-runs=\"([^\"]+)\"", in: chart) == [kept.joined(separator: " ")])
        // Nothing loaded, nothing blocked; the table sorts by value (runs without one last) and filters.
        #expect(dom.contains("data-resources=\"0\" data-blocked=\"0\""), "\(matches("(<body[^>]*>)", in: dom))")
        #expect(dom.contains("data-sorted=\"4 5 7 10 —\" data-shown=\"3\""), "\(matches("(<body[^>]*>)", in: dom))")
    }

    @Test func hostileTextIsEscapedInThePageAndTheChart() throws {
        let repo = try scenarioRepository()
        try repo.runIteration()
        let hostile = "</script><img src=x onerror=alert(1)> \"quoted\" 'single' & <svg onload=alert(2)>"
        try repo.write("candidate.txt", "value 3\n")
        try repo.runIteration(message: hostile)
        for format in ["html", "svg"] {
            let output = try Tool.run(["report", "--format", format], in: repo)
            #expect(output.status == 0, "\(output.stderr)")
            #expect(!output.stdout.contains("<img") && !output.stdout.contains("<svg onload") && !output.stdout.contains("\"quoted\""))
            #expect(output.stdout.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot; &#39;single&#39; &amp; &lt;svg onload=alert(2)&gt;"))
        }
        let html = try Tool.run(["report", "--format", "html"], in: repo).stdout
        #expect(html.components(separatedBy: "<script>").count == 2 && html.components(separatedBy: "</script>").count == 2)
    }

    @Test func svgAloneIsWellFormedWithOneDotPerRunOnEitherAxisAndLogScale() throws {
        let repo = try repositoryWithRuns()
        let (all, _) = try runIDs(repo)
        for arguments in [[String](), ["--axis", "time"], ["--log-scale"]] {
            let output = try Tool.run(["report", "--format", "svg"] + arguments, in: repo)
            #expect(output.status == 0, "\(output.stderr)")
            let counter = ElementCounter()
            let parser = XMLParser(data: Data(output.stdout.utf8))
            parser.delegate = counter
            #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
            #expect(counter.counts["circle.dot"] == all.count && counter.counts["polyline.frontier"] == 1 && counter.counts["a"] == nil)
        }
        #expect(try Tool.run(["report", "--format", "svg", "--log-scale"], in: repo).stdout.contains("score (lower is better), log scale"))
        #expect(try Tool.run(["report", "--format", "svg", "--axis", "time"], in: repo).stdout.contains(">start (UTC)</text>"))
        let file = repo.path + "/.git/progress.svg"
        #expect(try Tool.run(["report", "--format", "svg", "-o", file], in: repo).status == 0)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == (try Tool.run(["report", "--format", "svg"], in: repo).stdout))
    }

    @Test func runsOfSeveralHostsAreOutlinedInTheirOwnColour() throws {
        let repo = try repositoryWithRuns()
        // A record from another machine, as a pull brings it: the discard's line, another run id and host.
        let discard = try #require(jsonArray(try Tool.run(["log", "--format", "json", "--status", "discard"], in: repo).stdout).first)
        let commit = try #require(discard["commit"] as? String), run = try #require(discard["run"] as? String)
        let line = try repo.git(["notes", "--ref", "autoresearch", "show", commit]).split(separator: "\n").first.map(String.init) ?? ""
        let other = line.replacingOccurrences(of: "run=\(run)", with: "run=\(run)x")
            .replacingOccurrences(of: #"host=\S+"#, with: "host=lab-2", options: .regularExpression)
        try repo.git(["notes", "--ref", "autoresearch", "append", "-m", other, commit])
        let chart = try Tool.run(["report", "--format", "svg"], in: repo).stdout
        let strokes = matches(#"<circle class="dot [^"]+" data-run="[^"]+" [^>]* stroke="(#[0-9a-f]+)""#, in: chart)
        #expect(strokes.count == 6 && Set(strokes).count == 2)
        #expect(strokes.filter { $0 == strokes[2] }.count == 5, "the record from lab-2 is the only one in its colour: \(strokes)")
        #expect(chart.contains(">lab-2</text>"))
    }

    @Test func theBestSoFarAndTheSparkline() throws {
        let repo = try repositoryWithRuns()
        let progress = try repo.workspace().progress(experiment: "s")
        #expect(progress.frontier == [0, 1, 4])
        #expect(progress.bestSoFar == [10, 5, 5, 5, 4])
        #expect(Sparkline.line([10, 5, 5, 5, 4]) == "█▂▂▂▁")
        #expect(Sparkline.line([1, 2, 3, 4, 5, 6, 7, 8], width: 4) == "▁▃▆█")
        #expect(Sparkline.line([3, 3]) == "▅▅" && Sparkline.line([]) == "")

        // On a pipe, status shows the line only when asked.
        #expect(!(try Tool.run(["status"], in: repo).stdout.contains("progress")))
        let status = try Tool.run(["status", "--sparkline"], in: repo)
        #expect(status.stdout.contains("progress    █▂▂▂▁ 10 → 4 (best so far, 5 runs)"), "\(status.stdout)")
    }
}

/// Counts the elements of an XML document by name and first class (`circle.dot`).
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        let kind = attributes["class"]?.split(separator: " ").first.map { "\(name).\($0)" } ?? name
        counts[kind, default: 0] += 1
    }
}
