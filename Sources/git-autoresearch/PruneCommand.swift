import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Remove records from the ledger: by run, status, experiment or date; a tombstone keeps them from coming back.",
            discussion: """
            Removes the records matching every criterion given (runs named as 'show' names them, \
            --status, --before, narrowed by --experiment; without --experiment, every experiment's), \
            with the log lines kept after them, in one notes commit. Each removed record leaves a \
            tombstone line in its note (see docs/record-format.md), so a later pull from a machine that \
            still has the record removes it again; 'pull --resurrect' brings such records back. The \
            records of each experiment's best and baseline are always kept (naming one is an error). \
            Commits, the attempts chains and artifacts stay. --dry-run lists what would go.
            """)

        @Option(name: [.short, .long], help: "Only runs of this experiment (default: every experiment).")
        var experiment: String?

        @Argument(help: "Runs to remove: ids (or a unique part), commits, or last.")
        var runs: [String] = []

        @Option(help: "Only runs with this status (repeat for several).")
        var status: [RunStatus] = []

        @Option(help: "Only runs started before this date: 2026-11-30, '2026-11-30 14:00', an ISO 8601 time, or N.hours.ago (minutes, days, weeks).")
        var before: String?

        @Flag(help: "List what would be removed; remove nothing.")
        var dryRun = false

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        mutating func run() throws {
            let workspace = try Workspace()
            var selection = PruneSelection()
            selection.experiment = experiment
            selection.statuses = Set(status)
            selection.runs = runs
            selection.before = try before.map(Self.date)
            let result = try workspace.prune(selection, dryRun: dryRun)
            if format == .json {
                print(Terminal.json([
                    "dry_run": dryRun,
                    "removed": result.removed.map { ["run": $0.record.run, "experiment": $0.record.experiment, "status": $0.record.status.rawValue, "commit": $0.commit.hex] },
                    "kept": result.kept.map { ["run": $0.entry.record.run, "experiment": $0.entry.record.experiment, "role": $0.role] },
                ]))
                return
            }
            let verb = dryRun ? "would remove" : "removed"
            for entry in result.removed {
                let record = entry.record
                print("\(verb) \(record.run) \(record.status.rawValue) \(entry.commit.short) \(UntrustedText.visible(record.experiment)): \(UntrustedText.visible(record.description))")
            }
            for kept in result.kept {
                print("kept \(kept.entry.record.run): the \(kept.role) of \(UntrustedText.visible(kept.entry.record.experiment))")
            }
            print("\(dryRun ? "would remove" : "removed") \(result.removed.count) record\(result.removed.count == 1 ? "" : "s")")
        }

        /// A `--before` date: ISO 8601 (a date, a date and time with a space or `T`, in local time
        /// unless it says otherwise), or `N.UNIT.ago`.
        static func date(_ text: String) throws -> Date {
            let parts = text.split(separator: ".")
            let units: [String: Double] = ["minute": 60, "hour": 3600, "day": 86_400, "week": 604_800]
            if parts.count == 3, parts[2] == "ago", let count = Double(parts[0]),
               let unit = units[parts[1].hasSuffix("s") ? String(parts[1].dropLast()) : String(parts[1])] {
                return Date().addingTimeInterval(-count * unit)
            }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            for format in ["yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mm:ss.SSSXXXXX", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss",
                           "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
                formatter.dateFormat = format
                if let date = formatter.date(from: text) { return date }
            }
            throw ValidationError("cannot read --before '\(text)': give 2026-11-30, '2026-11-30 14:00', an ISO 8601 time, or N.hours.ago")
        }
    }
}
