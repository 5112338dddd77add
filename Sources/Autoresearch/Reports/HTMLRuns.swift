import Foundation

extension Workspace {
    /// Patches longer than this many lines are cut in the page (`git autoresearch show` has them whole).
    static let reportPatchLines = 300
    /// The newest runs the page gives details of (the top runs and the best always have theirs).
    static let reportDetailedRuns = 200
    /// The newest runs the runs table lists (`git autoresearch log` lists them all).
    static let reportTableRuns = 1000

    /// The runs of an experiment whose details the page gives: the newest `reportDetailedRuns`,
    /// the top ones and the best; in ledger order.
    static func detailedRuns(_ row: ReportRow) -> [RunEntry] {
        let runs = row.runs
        let chosen = Set(row.top.map(\.run) + [row.best?.record.run].compactMap { $0 })
        return runs.enumerated().filter { position, run in
            position >= runs.count - reportDetailedRuns || chosen.contains(run.run)
        }.map(\.element.entry)
    }

    /// The runs table of an experiment, newest first: sortable by any column, filterable by
    /// status; a run links to its details when the page has them (`detailed`).
    func runsTable(_ row: ReportRow, anchor: String, detailed: Set<String>) -> [String] {
        let runs = row.runs
        let several = ProgressChart.origins(runs).count > 1
        let statuses = RunStatus.allCases.filter { status in runs.contains { $0.status == status } }
        let tableID = "\(anchor)-runs"
        var parts = ["<h3>Runs</h3><p class=\"filter\"><label>Status <select class=\"status-filter\" data-table=\"\(tableID)\"><option value=\"\">all</option>"
            + statuses.map { "<option value=\"\($0.rawValue)\">\($0.rawValue)</option>" }.joined() + "</select></label> <span class=\"hint\">click a column to sort</span></p>"]
        var head = ["#", "Run", "Status", HTML.escape(row.experiment.metric), "Δ", "Duration", "Start (UTC)"]
        if several { head.append("Host / worker") }
        head.append("Description")
        parts.append("<table class=\"runs\" id=\"\(tableID)\"><thead><tr>" + head.map { "<th>\($0)</th>" }.joined() + "</tr></thead><tbody>")
        let dates = DateFormatter.utc("yyyy-MM-dd HH:mm:ss")
        for (position, record) in runs.enumerated().reversed().prefix(Self.reportTableRuns) {
            let id = HTML.escape(record.run)
            var cells = [
                "<td data-v=\"\(position + 1)\">\(position + 1)</td>",
                "<td>" + (detailed.contains(record.run) ? "<a href=\"#\(HTML.runAnchor(record.run))\">\(id)</a>" : id) + "</td>",
                "<td><span class=\"badge st-\(record.status.rawValue)\">\(record.status.rawValue)</span></td>",
                "<td data-v=\"\(record.value.map { String($0) } ?? "1e308")\">\(HTML.escape(ReportRow.valueText(record.value)))</td>",
                "<td data-v=\"\(record.delta.map { String($0) } ?? "1e308")\">\(record.delta.map(Number.signed) ?? "")</td>",
                "<td data-v=\"\(record.duration)\">\(HTML.escape(Durations.format(record.duration)))</td>",
                "<td>\(dates.string(from: record.start))</td>",
            ]
            if several { cells.append("<td>\(HTML.escape(ProgressChart.origin(record)))</td>") }
            cells.append("<td>\(HTML.escape(record.description))</td>")
            parts.append("<tr data-status=\"\(record.status.rawValue)\">" + cells.joined() + "</tr>")
        }
        parts.append("</tbody></table>")
        if runs.count > Self.reportTableRuns {
            parts.append("<p class=\"hint\">\(runs.count - Self.reportTableRuns) older runs not listed: git autoresearch log</p>")
        }
        return parts
    }

    /// A run's details, folded: its record, log tail, artifacts, and its change against its parent
    /// and against the best. What cannot be read (a commit missing in a partial clone) is said.
    func runDetails(_ run: RunEntry, row: ReportRow) throws -> String {
        let record = run.record
        var summary = "\(record.run) · \(record.status.rawValue)"
        if let value = record.value { summary += " · \(row.experiment.metric)=\(Number.format(value))" }
        if !record.description.isEmpty { summary += " · \(record.description)" }
        var parts = ["<details class=\"run\" id=\"\(HTML.runAnchor(record.run))\"><summary>\(HTML.escape(summary))</summary>"]
        parts.append("<h4>Record</h4><p>On commit <code>\(run.commit.hex)</code>.</p><pre>\(HTML.escape(record.line))</pre>")
        let tail = Self.readable { try self.logTail(of: run) }
        parts.append("<h4>Log tail</h4><pre>\(HTML.escape(tail.map { $0.isEmpty ? "(no log kept)" : $0.joined(separator: "\n") } ?? tail.failure, multiline: true))</pre>")
        if record.artifacts != nil {
            let artifacts = Self.readable { try self.artifacts(of: run) }
            let items = artifacts.value?.map { "<li><code>\(HTML.escape($0.path))</code> (\(ByteCount.format($0.size)))</li>" }.joined() ?? "<li>\(HTML.escape(artifacts.failure))</li>"
            parts.append("<h4>Artifacts</h4><ul>\(items)</ul><p class=\"hint\">git autoresearch artifacts \(HTML.escape(record.run)) --out DIR</p>")
        }
        parts.append("<h4>Change against its parent</h4>" + Self.patchBlock(Self.readable { try self.patch(of: run) }))
        if let best = row.best, best.commit != run.commit {
            let patch = Self.readable { try self.repository.diffPatch(from: best.commit, to: run.commit) }
            parts.append("<h4>Against the best (run \(HTML.escape(best.record.run)), <code>\(best.commit.short)</code>)</h4>" + Self.patchBlock(patch))
        }
        parts.append("</details>")
        return parts.joined(separator: "\n")
    }

    /// A patch with its added and removed lines marked, cut at `reportPatchLines`.
    static func patchBlock(_ patch: Readable<String>) -> String {
        guard let text = patch.value else { return "<pre>\(HTML.escape(patch.failure))</pre>" }
        guard !text.isEmpty else { return "<p class=\"hint\">no change</p>" }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var shown = lines.prefix(reportPatchLines).map { line -> String in
            let kind = line.hasPrefix("+++") || line.hasPrefix("---") ? "file" : line.hasPrefix("+") ? "add" : line.hasPrefix("-") ? "del" : line.hasPrefix("@@") ? "hunk" : ""
            return kind.isEmpty ? HTML.escape(line) : "<span class=\"\(kind)\">\(HTML.escape(line))</span>"
        }
        if lines.count > reportPatchLines { shown.append("… \(lines.count - reportPatchLines) more lines (git autoresearch show RUN)") }
        return "<pre class=\"diff\">" + shown.joined(separator: "\n") + "</pre>"
    }

    /// What a read gave, or why it failed.
    struct Readable<Value> {
        let value: Value?
        let failure: String

        func map<Other>(_ transform: (Value) -> Other) -> Other? { value.map(transform) }
    }

    static func readable<Value>(_ read: () throws -> Value) -> Readable<Value> {
        do { return Readable(value: try read(), failure: "") } catch { return Readable(value: nil, failure: "not available: \(error)") }
    }
}
