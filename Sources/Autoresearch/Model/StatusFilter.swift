import Foundation

/// Which runs a listing shows by status: any of several statuses, and `baseline`, the status
/// `log` prints for the first kept run (a keep without a best before it).
public struct StatusFilter: Sendable, Equatable {
    public let statuses: Set<RunStatus>
    /// True when baselines are wanted (they are keeps: `keep` includes them).
    public let baselines: Bool

    public init(_ statuses: Set<RunStatus>, baselines: Bool = false) {
        self.statuses = statuses
        self.baselines = baselines
    }

    /// Reads statuses as given on the command line: each text one status or several separated
    /// by commas (`keep,crash`); `baseline` is accepted as `log` prints it.
    public init(parsing texts: [String]) throws {
        var statuses: Set<RunStatus> = [], baselines = false
        for word in texts.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces) }) where !word.isEmpty {
            if word == "baseline" {
                baselines = true
            } else if let status = RunStatus(rawValue: word) {
                statuses.insert(status)
            } else {
                throw AutoresearchError("unknown status '\(UntrustedText.visible(word))'",
                                        hint: "one or more of: baseline, " + RunStatus.allCases.map(\.rawValue).joined(separator: ", ") + " (comma-separated or repeated)")
            }
        }
        self.init(statuses, baselines: baselines)
    }

    /// True when a run with `status`, a baseline or not, is one of the runs wanted.
    public func matches(status: RunStatus, isBaseline: Bool) -> Bool { statuses.contains(status) || (baselines && isBaseline) }
}
