import Foundation

/// How a progress chart is drawn.
public struct ChartOptions: Sendable {
    /// What the horizontal axis shows.
    public enum Axis: String, Sendable, CaseIterable {
        /// The run's number in the experiment, from 1.
        case run
        /// When the run started (UTC).
        case time
    }

    public var axis: Axis = .run
    /// A logarithmic value axis (drawn linear when a value is not positive, and said in the label).
    public var logScale = false

    public init(axis: Axis = .run, logScale: Bool = false) {
        self.axis = axis
        self.logScale = logScale
    }
}

/// The progress chart of one metric as SVG: every run a dot coloured by status (a run without a
/// value on a lane under the plot), the kept runs joined as the running best, the baseline as a
/// dashed line, the noise of each best as a band, hover text per dot. The same runs give the
/// same bytes: no random ids, no time of drawing.
struct ProgressChart {
    let progress: Progress
    let metric: String
    let options: ChartOptions
    /// The value of each run drawn (the metric, or a secondary metric); nil puts the run on the lane.
    let value: (RunRecord) -> Double?
    let width: Double
    let height: Double
    /// Secondary charts: no frontier, no baseline, no legend.
    let small: Bool
    /// Each dot links to its run's details in the page.
    let linkRuns: Bool

    init(progress: Progress, metric: String, options: ChartOptions, small: Bool = false, linkRuns: Bool = false,
         value: ((RunRecord) -> Double?)? = nil) {
        self.progress = progress
        self.metric = metric
        self.options = options
        self.small = small
        self.linkRuns = linkRuns
        self.value = value ?? { $0.value }
        (width, height) = small ? (380, 190) : (860, 400)
    }

    static let statusColors: [RunStatus: String] = [
        .keep: "#2e9d4a", .discard: "#9aa3ad", .crash: "#d62728", .timeout: "#ff7f0e", .noMetric: "#bc5090",
        .interrupted: "#8c6d31", .noop: "#c7c7c7", .agentError: "#7f3c8d", .rejected: "#e377c2", .recheck: "#1f77b4",
    ]
    static let originColors = ["#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#bcbd22", "#e377c2", "#7f7f7f"]

    var plot: (left: Double, right: Double, top: Double, bottom: Double) {
        small ? (56, width - 10, 24, height - 44) : (72, width - 190, 52, height - 62)
    }
    /// The lane of runs without a value, under the plot.
    var laneY: Double { plot.bottom + 12 }

    /// Runs that have a value, with their positions.
    var valued: [(position: Int, value: Double)] {
        progress.runs.enumerated().compactMap { position, run in value(run.record).map { (position, $0) } }
    }

    var logScale: Bool { options.logScale && !valued.isEmpty && valued.allSatisfy { $0.value > 0 } }

    func scaled(_ value: Double) -> Double { logScale ? log10(value) : value }

    /// The value range drawn, in scaled units, with a margin.
    var valueRange: (low: Double, high: Double) {
        var values = valued.map { scaled($0.value) }
        if !small, let baseline = baseline { values.append(scaled(baseline)) }
        guard let low = values.min(), let high = values.max() else { return (0, 1) }
        let margin = high == low ? max(abs(high) * 0.1, 1) : (high - low) * 0.06
        return (low - margin, high + margin)
    }

    /// The run's horizontal coordinate value: its number, or its start in seconds.
    func xValue(_ position: Int) -> Double {
        options.axis == .run ? Double(position + 1) : progress.runs[position].record.start.timeIntervalSince1970
    }

    var xRange: (low: Double, high: Double) {
        guard !progress.runs.isEmpty else { return (0, 1) }
        let low = xValue(0), high = xValue(progress.runs.count - 1)
        let margin = high == low ? 1 : (high - low) * 0.03
        return (low - margin, high + margin)
    }

    func x(_ position: Int) -> Double { xCoordinate(xValue(position)) }

    func xCoordinate(_ value: Double) -> Double {
        let range = xRange
        return plot.left + (value - range.low) / (range.high - range.low) * (plot.right - plot.left)
    }

    func y(_ value: Double) -> Double {
        let range = valueRange
        return plot.bottom - (scaled(value) - range.low) / (range.high - range.low) * (plot.bottom - plot.top)
    }

    /// The baseline value: the first kept run's.
    var baseline: Double? { progress.frontier.first.flatMap { value(progress.runs[$0].record) } }

    /// The chart as an `<svg>` element; `id` names it in the page (and prefixes its inner ids).
    func svg(id: String, title: String) -> String {
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(HTML.escape(id))\" class=\"chart\" viewBox=\"0 0 \(Self.n(width)) \(Self.n(height))\" width=\"\(Self.n(width))\" height=\"\(Self.n(height))\" font-family=\"system-ui, sans-serif\" font-size=\"\(small ? 10 : 12)\">"]
        parts.append("<title>\(HTML.escape(title))</title>")
        parts.append("<rect x=\"0\" y=\"0\" width=\"\(Self.n(width))\" height=\"\(Self.n(height))\" fill=\"#ffffff\"/>")
        parts.append("<text x=\"\(Self.n(plot.left))\" y=\"\(small ? 14 : 20)\" font-weight=\"600\" font-size=\"\(small ? 11 : 14)\">\(HTML.escape(title))</text>")
        parts += axes()
        if !small {
            parts += noiseBands()
            parts += baselineLine()
            parts += frontierLine()
        }
        parts += dots()
        if !small { parts += legend() }
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }

    /// Formats a coordinate with one decimal: the same text on every machine.
    static func n(_ value: Double) -> String { String(format: "%.1f", value) }
}
