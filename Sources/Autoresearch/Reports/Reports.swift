import Foundation
import Git

/// What `import` did.
public struct ImportReport: Sendable {
    public var imported = 0
    /// Rows not imported: line number in the file and why.
    public var skipped: [(line: Int, reason: String)] = []
}

extension Workspace {
    /// The runs of an experiment, oldest first; with `status`, only those; with `latest`, only
    /// the newest that many, and only those records are parsed.
    public func runs(experiment name: String, status: RunStatus? = nil, latest limit: Int? = nil) throws -> [RunEntry] {
        try ledger.withIndex { index in
            try index.newest(limit) { $0.experiment == name && (status == nil || $0.status == status) }
        }.compactMap(\.entry)
    }

    /// The runs of an experiment as `runs` gives them, and why each suspect one is suspect, by
    /// run id (`RecordTrust`). Every record is parsed once; when every run of the experiment is
    /// listed (no status, no limit), the suspicions come from them, grouped by commit in note
    /// order, instead of from one note read per commit.
    public func runsWithSuspects(experiment name: String, status: RunStatus? = nil, latest limit: Int? = nil) throws
        -> (runs: [RunEntry], suspects: [String: String]) {
        let records = try ledger.withIndex { index in
            try index.newest(limit) { $0.experiment == name && (status == nil || $0.status == status) }
        }.compactMap { indexed in indexed.entry.map { (ordinal: indexed.ordinal, run: $0) } }
        let runs = records.map(\.run)
        guard status == nil, limit == nil else { return (runs, try suspectReasons(among: runs, experiment: name)) }
        var suspects: [String: String] = [:]
        for note in Dictionary(grouping: records, by: \.run.commit).values {
            let inNoteOrder = note.sorted { $0.ordinal < $1.ordinal }.map(\.run.record)
            for (record, reason) in zip(inNoteOrder, RecordTrust.suspicions(inNoteOrder)) { if let reason { suspects[record.run] = reason } }
        }
        return (runs, suspects)
    }

    /// The best commit of an experiment with its record, and the baseline it is measured
    /// against, read along the branch only (not the whole ledger).
    public func best(experiment name: String) throws -> (best: RunEntry, baseline: RunRecord?, experiment: Experiment)? {
        let context = context(name)
        let tip = try context.tip()
        let found = try ledger.withIndex { try context.ledger.reading(through: $0).bestAndBaseline(experiment: name, from: tip) }
        guard let found else { return nil }
        return (found.best, found.baseline, try context.configuration(at: tip))
    }

    /// The run with this id (or a unique prefix of it), in any experiment.
    public func run(_ id: String) throws -> RunEntry {
        let matches = try ledger.withIndex { try $0.all() }.filter { $0.run.hasPrefix(id) }.compactMap(\.entry)
        guard let match = matches.first else {
            throw AutoresearchError("no run '\(id)'", hint: "list the runs with 'git autoresearch log'")
        }
        guard Set(matches.map(\.record.run)).count == 1 else {
            throw AutoresearchError("'\(id)' names several runs", hint: "give more of the run id")
        }
        return match
    }

    /// The last lines of a run's log, as kept in git with its record.
    public func logTail(of run: RunEntry) throws -> [String] {
        try ledger.logTail(run: run.record.run, on: run.commit)
    }

    /// The change a run evaluated: the patch from its commit's first parent to the commit.
    public func patch(of run: RunEntry) throws -> String {
        try repository.diffPatch(from: try repository.commit(run.commit).parents.first, to: run.commit)
    }

    /// The header of `results.tsv`, as the autoresearch skill's runner writes it.
    public static let resultsHeader = "commit\tmetric\tstatus\tdescription"

    /// The runs of an experiment as the skill's `results.tsv`: short commit, metric with six
    /// decimals (`N/A` without a value), status, description.
    public func exportTSV(experiment name: String) throws -> String {
        let rows = try runs(experiment: name).map { run in
            [run.commit.short, run.record.value.map { String(format: "%.6f", $0) } ?? "N/A", run.record.status.rawValue,
             run.record.description.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ")]
                .joined(separator: "\t")
        }
        return ([Self.resultsHeader] + rows).joined(separator: "\n") + "\n"
    }

    /// Brings a `results.tsv` into the ledger of `experiment`: the skill's layout
    /// (`commit metric status description`) or Karpathy's (`commit val_bpb memory_gb status
    /// description`), any columns between the metric and the status. A row becomes a record on its
    /// commit when the commit exists here and the same run is not recorded yet; the order of the
    /// rows is kept in the records' start times.
    public func importTSV(_ text: String, experiment name: String) throws -> ImportReport {
        let experiment = try self.experiment(named: name)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0).replacingOccurrences(of: "\r", with: "") }
        while lines.last == "" { lines.removeLast() }
        guard let header = lines.first?.split(separator: "\t").map({ $0.lowercased() }), header.first == "commit",
              let statusColumn = header.firstIndex(of: "status"), statusColumn >= 2 else {
            throw AutoresearchError("not a results.tsv: the first line must be a header like 'commit<TAB>metric<TAB>status<TAB>description'",
                                    hint: "columns are separated by tabs; Karpathy's layout 'commit val_bpb memory_gb status description' works too")
        }
        var report = ImportReport()
        let start = Date()
        for (offset, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let number = offset + 1
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > statusColumn else {
                report.skipped.append((number, "\(fields.count) columns, the header has \(header.count)"))
                continue
            }
            guard let status = RunStatus(rawValue: fields[statusColumn]) else {
                report.skipped.append((number, "unknown status '\(fields[statusColumn])'"))
                continue
            }
            guard let commit = try repository.resolveCommit(fields[0]) else {
                report.skipped.append((number, "commit \(fields[0]) is not in this repository"))
                continue
            }
            let valueText = fields[1].trimmingCharacters(in: .whitespaces)
            let value = DecimalNumber.finite(valueText)
            if value == nil, valueText != "N/A", !valueText.isEmpty, status == .keep || status == .discard {
                report.skipped.append((number, "metric '\(valueText)' is not a number"))
                continue
            }
            let description = fields.count > statusColumn + 1 ? fields[(statusColumn + 1)...].joined(separator: " ") : ""
            let existing = try ledger.records(on: commit, experiment: name)
            if existing.contains(where: { $0.status == status && $0.value == value && $0.description == description }) {
                report.skipped.append((number, "already recorded on \(commit.short)"))
                continue
            }
            let when = start.addingTimeInterval(Double(number) / 1000)
            let record = RunRecord(experiment: name, run: RunID.make(at: when), status: status, metric: experiment.metric,
                                   value: value, bestBefore: nil, direction: experiment.direction, duration: 0, start: when,
                                   exitCode: nil, reason: status == .keep || status == .discard ? nil : "imported from results.tsv",
                                   description: description, host: "import")
            try ledger.append(record, on: commit)
            report.imported += 1
        }
        return report
    }
}
