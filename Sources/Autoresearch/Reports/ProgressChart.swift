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
    let value: (IndexedRecord) -> Double?
    let width: Double
    let height: Double
    /// Secondary charts: no frontier, no baseline, no legend.
    let small: Bool
    /// The runs whose dots link to their details in the page.
    let linkedRuns: Set<String>

    /// True when the metric axis is logarithmic: asked for, and every value drawn is positive.
    let logScale: Bool
    /// The value range drawn, in scaled units, with a margin.
    let valueRange: (low: Double, high: Double)
    /// The range of the horizontal axis (run numbers or seconds), with a margin.
    let xRange: (low: Double, high: Double)
    /// The baseline value: the first kept run's.
    let baseline: Double?

    init(progress: Progress, metric: String, options: ChartOptions, small: Bool = false, linkedRuns: Set<String> = [],
         value: ((IndexedRecord) -> Double?)? = nil) {
        let value = value ?? { $0.value }
        self.progress = progress
        self.metric = metric
        self.options = options
        self.small = small
        self.linkedRuns = linkedRuns
        self.value = value
        (width, height) = small ? (380, 190) : (860, 400)
        let values = progress.runs.compactMap(value)
        let logScale = options.logScale && !values.isEmpty && values.allSatisfy { $0 > 0 }
        self.logScale = logScale
        baseline = progress.frontier.first.flatMap { value(progress.runs[$0]) }
        let drawn = (values + (!small ? baseline.map { [$0] } ?? [] : [])).map { logScale ? log10($0) : $0 }
        valueRange = Self.padded(drawn.min(), drawn.max(), fraction: 0.06, single: max(abs(drawn.max() ?? 0) * 0.1, 1))
        let xValues = progress.runs.indices.map { Self.xValue($0, of: progress, axis: options.axis) }
        xRange = Self.padded(xValues.first, xValues.last, fraction: 0.03, single: 1)
    }

    /// `low` to `high` widened by `fraction` of the span (by `single` when they are equal); 0 to
    /// 1 when there is nothing.
    static func padded(_ low: Double?, _ high: Double?, fraction: Double, single: Double) -> (low: Double, high: Double) {
        guard let low, let high else { return (0, 1) }
        let margin = high == low ? single : (high - low) * fraction
        return (low - margin, high + margin)
    }

    /// A run's horizontal coordinate value: its number, or its start in seconds.
    static func xValue(_ position: Int, of progress: Progress, axis: ChartOptions.Axis) -> Double {
        axis == .run ? Double(position + 1) : progress.runs[position].start.timeIntervalSince1970
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

    func scaled(_ value: Double) -> Double { logScale ? log10(value) : value }

    func x(_ position: Int) -> Double { xCoordinate(Self.xValue(position, of: progress, axis: options.axis)) }

    func xCoordinate(_ value: Double) -> Double {
        let range = xRange
        return plot.left + (value - range.low) / (range.high - range.low) * (plot.right - plot.left)
    }

    func y(_ value: Double) -> Double {
        let range = valueRange
        return plot.bottom - (scaled(value) - range.low) / (range.high - range.low) * (plot.bottom - plot.top)
    }

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
        parts += ["</svg>", ""]
        return parts.joined(separator: "\n")
    }

    /// Formats a coordinate with one decimal (C's `%.1f`): the same text on every machine.
    static func n(_ value: Double) -> String { Number.tenths(value) }
}
