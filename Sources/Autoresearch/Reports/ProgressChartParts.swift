import Foundation

/// The pieces of a progress chart: axes, dots, frontier, baseline, noise bands, legend.
extension ProgressChart {
    /// Grid, ticks and labels of both axes.
    func axes() -> [String] {
        let n = Self.n
        var parts = ["<g class=\"axes\" stroke=\"#d8dde3\" stroke-width=\"1\">"]
        let range = valueRange
        for tick in Self.ticks(range.low, range.high, count: small ? 4 : 6) {
            let value = logScale ? pow(10, tick) : tick
            let yy = y(value)
            parts.append("<line x1=\"\(n(plot.left))\" y1=\"\(n(yy))\" x2=\"\(n(plot.right))\" y2=\"\(n(yy))\"/>")
            parts.append("<text x=\"\(n(plot.left - 6))\" y=\"\(n(yy + 4))\" text-anchor=\"end\" stroke=\"none\" fill=\"#444\">\(Number.format(value))</text>")
        }
        for (value, label) in xTicks() {
            let xx = xCoordinate(value)
            parts.append("<line x1=\"\(n(xx))\" y1=\"\(n(plot.top))\" x2=\"\(n(xx))\" y2=\"\(n(plot.bottom))\"/>")
            parts.append("<text x=\"\(n(xx))\" y=\"\(n(laneY + 18))\" text-anchor=\"middle\" stroke=\"none\" fill=\"#444\">\(label)</text>")
        }
        parts.append("<rect x=\"\(n(plot.left))\" y=\"\(n(plot.top))\" width=\"\(n(plot.right - plot.left))\" height=\"\(n(plot.bottom - plot.top))\" fill=\"none\" stroke=\"#8a939c\"/>")
        parts.append("</g>")
        if progress.runs.contains(where: { value($0) == nil }) {
            parts.append("<text x=\"\(n(plot.left - 6))\" y=\"\(n(laneY + 4))\" text-anchor=\"end\" fill=\"#888\" font-size=\"10\">no value</text>")
        }
        let xLabel = options.axis == .run ? "run" : "start (UTC)"
        parts.append("<text x=\"\(n((plot.left + plot.right) / 2))\" y=\"\(n(height - 6))\" text-anchor=\"middle\" fill=\"#222\">\(xLabel)</text>")
        var yLabel = HTML.escape(metric)
        if !small { yLabel += " (\(progress.direction.rawValue) is better)" }
        if logScale { yLabel += ", log scale" } else if options.logScale { yLabel += ", linear: not every value is positive" }
        let middle = n((plot.top + plot.bottom) / 2)
        parts.append("<text transform=\"translate(\(small ? 12 : 16) \(middle)) rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">\(yLabel)</text>")
        return parts
    }

    /// Ticks of the horizontal axis: run numbers, or dates.
    func xTicks() -> [(Double, String)] {
        let range = xRange
        guard options.axis == .time else {
            return Self.ticks(max(range.low, 1), range.high, count: small ? 4 : 8).filter { $0 == $0.rounded() }.map { ($0, String(Int($0))) }
        }
        let span = range.high - range.low
        let format = DateFormatter.utc(span > 2 * 86400 ? "MM-dd HH:mm" : span > 120 ? "HH:mm" : "HH:mm:ss")
        let count = small ? 3 : 5
        let ticks = (0...count).map { step in
            let value = range.low + span * Double(step) / Double(count)
            return (value, format.string(from: Date(timeIntervalSince1970: value)))
        }
        // Runs a second apart: one label per second.
        return ticks.enumerated().filter { $0.offset == 0 || ticks[$0.offset - 1].1 != $0.element.1 }.map(\.element)
    }

    /// About `count` round values between `low` and `high`.
    static func ticks(_ low: Double, _ high: Double, count: Int) -> [Double] {
        guard high > low, low.isFinite, high.isFinite else { return [low] }
        let raw = (high - low) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var ticks: [Double] = []
        var tick = ceil(low / step) * step
        while tick <= high + step * 1e-9 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        return ticks
    }

    /// One circle per run, coloured by status, outlined by host and worker when several ran.
    func dots() -> [String] {
        let origins = Self.origins(progress.runs)
        var parts = ["<g class=\"dots\">"]
        for (position, record) in progress.runs.enumerated() {
            let value = value(record)
            let fill = Self.statusColors[record.status] ?? "#000"
            let origin = origins.count > 1 ? origins.firstIndex(of: Self.origin(record)).map { " stroke=\"\(Self.originColors[$0 % Self.originColors.count])\" stroke-width=\"2\"" } ?? "" : " stroke=\"#fff\" stroke-width=\"0.8\""
            let cy = value.map(y) ?? laneY
            var hover = "run \(record.run) · \(record.status.rawValue)"
            hover += value.map { " · \(metric)=\(Number.format($0))" } ?? ""
            hover += record.description.isEmpty ? "" : "\n\(record.description)"
            let radius = small ? 3.0 : record.status == .keep ? 5.0 : 4.0
            let dot = "<circle class=\"dot st-\(record.status.rawValue)\" data-run=\"\(HTML.escape(record.run))\" cx=\"\(Self.n(x(position)))\" cy=\"\(Self.n(cy))\" r=\"\(Self.n(radius))\" fill=\"\(fill)\"\(origin)><title>\(HTML.escape(hover, multiline: true))</title></circle>"
            parts.append(linkedRuns.contains(record.run) ? "<a href=\"#\(HTML.runAnchor(record.run))\">\(dot)</a>" : dot)
        }
        parts.append("</g>")
        return parts
    }

    /// The running best as a step line through the frontier's runs, held to the last run.
    func frontierLine() -> [String] {
        guard let first = progress.frontier.first, let firstValue = value(progress.runs[first]) else { return [] }
        var points = [(x(first), y(firstValue))]
        var lastY = y(firstValue)
        for position in progress.frontier.dropFirst() {
            guard let value = value(progress.runs[position]) else { continue }
            points.append((x(position), lastY))
            lastY = y(value)
            points.append((x(position), lastY))
        }
        points.append((x(progress.runs.count - 1), lastY))
        let labels = progress.frontier.map { position -> String in
            let record = progress.runs[position]
            let description = position == progress.frontier.first ? "baseline" : record.description
            let text = description.count > 32 ? description.prefix(31) + "…" : Substring(description)
            let (xx, yy) = (Self.n(x(position) + 6), Self.n(y(value(record) ?? 0) - 7))
            return "<text class=\"label\" x=\"\(xx)\" y=\"\(yy)\" transform=\"rotate(-18 \(xx) \(yy))\" font-size=\"10\" fill=\"#1e6b33\">\(HTML.escape(String(text)))</text>"
        }
        let runs = progress.frontier.map { HTML.escape(progress.runs[$0].run) }.joined(separator: " ")
        let path = points.map { "\(Self.n($0.0)),\(Self.n($0.1))" }.joined(separator: " ")
        return ["<polyline class=\"frontier\" data-runs=\"\(runs)\" points=\"\(path)\" fill=\"none\" stroke=\"#2e9d4a\" stroke-width=\"2\" stroke-linejoin=\"round\"/>"] + labels
    }

    /// A dashed line at the baseline's value.
    func baselineLine() -> [String] {
        guard let baseline else { return [] }
        let yy = Self.n(y(baseline))
        return ["<line class=\"baseline\" x1=\"\(Self.n(plot.left))\" y1=\"\(yy)\" x2=\"\(Self.n(plot.right))\" y2=\"\(yy)\" stroke=\"#555\" stroke-dasharray=\"5 4\" stroke-width=\"1\"><title>baseline \(HTML.escape(Number.format(baseline)))</title></line>"]
    }

    /// For each best whose noise was measured (repeats), a band of ± its noise until the next best.
    func noiseBands() -> [String] {
        var parts: [String] = []
        for (index, position) in progress.frontier.enumerated() {
            let run = progress.runs[position]
            guard let noise = run.record.noise, noise > 0, let value = value(run) else { continue }
            let end = index + 1 < progress.frontier.count ? progress.frontier[index + 1] : progress.runs.count - 1
            let top = y(value + noise), bottom = y(logScale ? max(value - noise, value / 10) : value - noise)
            let (y1, y2) = (min(top, bottom), max(top, bottom))
            parts.append("<rect class=\"noise\" x=\"\(Self.n(x(position)))\" y=\"\(Self.n(y1))\" width=\"\(Self.n(max(x(end) - x(position), 2)))\" height=\"\(Self.n(y2 - y1))\" fill=\"#2e9d4a\" fill-opacity=\"0.12\"><title>noise ±\(Number.format(noise))</title></rect>")
        }
        return parts
    }

    /// Status colours present, the frontier and baseline, and the hosts and workers when several.
    func legend() -> [String] {
        var entries: [(String, String)] = RunStatus.allCases.filter { status in progress.runs.contains { $0.status == status } }
            .map { ("<circle cx=\"6\" cy=\"-4\" r=\"5\" fill=\"\(Self.statusColors[$0] ?? "#000")\"/>", $0.rawValue) }
        entries.append(("<line x1=\"0\" y1=\"-4\" x2=\"12\" y2=\"-4\" stroke=\"#2e9d4a\" stroke-width=\"2\"/>", "running best"))
        entries.append(("<line x1=\"0\" y1=\"-4\" x2=\"12\" y2=\"-4\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>", "baseline"))
        let origins = Self.origins(progress.runs)
        if origins.count > 1 {
            entries += origins.enumerated().map { index, origin in
                ("<circle cx=\"6\" cy=\"-4\" r=\"5\" fill=\"#fff\" stroke=\"\(Self.originColors[index % Self.originColors.count])\" stroke-width=\"2\"/>", origin)
            }
        }
        return ["<g class=\"legend\" transform=\"translate(\(Self.n(plot.right + 16)) \(Self.n(plot.top + 8)))\">"]
            + entries.enumerated().map { index, entry in
                "<g transform=\"translate(0 \(index * 18))\">\(entry.0)<text x=\"18\" y=\"0\" fill=\"#222\">\(HTML.escape(entry.1))</text></g>"
            } + ["</g>"]
    }

    /// Where a run ran: its host, and its worker when in parallel.
    static func origin(_ record: IndexedRecord) -> String { record.host + (record.worker.map { " w\($0)" } ?? "") }

    /// The hosts and workers of `runs`, sorted.
    static func origins(_ runs: [IndexedRecord]) -> [String] { Set(runs.map(origin)).sorted() }
}
