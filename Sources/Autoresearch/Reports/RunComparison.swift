import Foundation
import Git

/// Two runs side by side (`git autoresearch diff`): their metrics with deltas, and the code
/// between their commits.
public struct RunComparison: Sendable {
    /// One measured quantity of both runs.
    public struct Row: Sendable {
        public enum Kind: String, Sendable { case primary, secondary, duration }
        /// The metric's name (`m.NAME` for a secondary one, `duration` for the run's time).
        public let name: String
        public let kind: Kind
        public let old: Double?
        public let new: Double?
        /// The constraints of the experiment on this metric, as written (`m.vram <= 40000`).
        public let constraints: [String]

        /// `new - old`, when both runs have the value.
        public var delta: Double? { old.flatMap { old in new.map { Number.difference($0, old) } } }
    }

    public let old: RunEntry
    public let new: RunEntry
    public let rows: [Row]

    /// Compares `old` with `new`: the primary metric, every secondary metric either reported (in
    /// the order first seen), then the duration; constraints are those of `experiment`.
    public init(old: RunEntry, new: RunEntry, experiment: Experiment?) {
        self.old = old
        self.new = new
        let constraints = experiment?.constraints ?? []
        func bounds(_ name: String) -> [String] { constraints.filter { $0.metric == name }.map(\.description) }
        var rows = [Row(name: new.record.metric, kind: .primary, old: old.record.value, new: new.record.value,
                        constraints: bounds(new.record.metric))]
        let oldMetrics = old.record.metricValues, newMetrics = new.record.metricValues
        var seen: Set<String> = []
        for name in (old.record.metrics + new.record.metrics).map(\.name) where seen.insert(name).inserted {
            rows.append(Row(name: RunRecord.metricPrefix + name, kind: .secondary, old: oldMetrics[name], new: newMetrics[name],
                            constraints: bounds(name)))
        }
        rows.append(Row(name: "duration", kind: .duration, old: old.record.duration, new: new.record.duration, constraints: []))
        self.rows = rows
    }
}

extension Workspace {
    /// The comparison of run `first` with run `second` (default: the best of `first`'s
    /// experiment), both named as `run(named:experiment:)` finds them.
    public func compareRuns(_ first: String, _ second: String?, experiment: String? = nil) throws -> RunComparison {
        let old = try run(named: first, experiment: experiment)
        let new = try run(named: second ?? RunKeyword.best.rawValue, experiment: second == nil ? old.record.experiment : experiment)
        return RunComparison(old: old, new: new, experiment: try? self.experiment(named: new.record.experiment))
    }

    /// The code between the commits of two runs, as `git diff OLD NEW` prints it in `format`.
    public func codeDiff(_ comparison: RunComparison, as format: DiffFormat) throws -> String {
        try repository.diff(from: comparison.old.commit, to: comparison.new.commit, as: format)
    }
}
