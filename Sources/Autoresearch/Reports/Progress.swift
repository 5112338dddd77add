import Foundation

/// The progress of one experiment: its runs in ledger order and the running best through the kept
/// ones (the frontier of Karpathy's `progress.png`). The runs are the ledger index's: what the
/// charts and the runs table show is read from its fields, no record is parsed for it.
public struct Progress {
    public let runs: [IndexedRecord]
    public let direction: Direction
    /// Positions in `runs` of the kept runs that moved the best, in order: each is better than
    /// every kept run before it.
    public let frontier: [Int]

    public init(runs: [IndexedRecord], direction: Direction) {
        self.runs = runs
        self.direction = direction
        var frontier: [Int] = []
        var best: Double?
        for (position, run) in runs.enumerated() where run.status == .keep {
            guard let value = run.value, best.map({ direction.isBetter(value, than: $0) }) ?? true else { continue }
            frontier.append(position)
            best = value
        }
        self.frontier = frontier
    }

    /// The best value after each run, from the first kept run on (empty before it).
    public var bestSoFar: [Double] {
        guard let first = frontier.first else { return [] }
        var values: [Double] = []
        var next = frontier.makeIterator()
        var upcoming = next.next()
        var best = runs[first].value!
        for position in first..<runs.count {
            if position == upcoming {
                best = runs[position].value!
                upcoming = next.next()
            }
            values.append(best)
        }
        return values
    }
}

/// A one-line chart of a series in Unicode block characters (`▁▂▃▄▅▆▇█`), the lowest value the
/// lowest block.
public enum Sparkline {
    static let blocks = Array("▁▂▃▄▅▆▇█")

    /// `values` in at most `width` characters: a longer series is cut into `width` equal spans,
    /// each shown by its last value. Empty for no values.
    public static func line(_ values: [Double], width: Int = 40) -> String {
        guard !values.isEmpty, width > 0 else { return "" }
        let count = min(width, values.count)
        let shown = (0..<count).map { values[(($0 + 1) * values.count - 1) / count] }
        let low = shown.min()!, high = shown.max()!
        return String(shown.map { value in
            high == low ? blocks[blocks.count / 2] : blocks[Int(((value - low) / (high - low) * Double(blocks.count - 1)).rounded())]
        })
    }
}

extension Workspace {
    /// The progress of an experiment, from every run of it in the ledger index.
    public func progress(experiment name: String) throws -> Progress {
        Progress(runs: try indexedRuns(experiment: name, status: nil, query: nil, latest: nil), direction: try self.experiment(named: name).direction)
    }
}
