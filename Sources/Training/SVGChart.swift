import Checkpoint
import Foundation

/// A line chart as a standalone SVG document: title, axes with a few ticks, one polyline per series, a legend.
struct SVGChart {
    struct Series { var name: String; var color: String; var x: [Double]; var y: [Double]; var dashed = false }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var width = 840.0, height = 360.0

    /// Values that cannot go below zero (an error): the y axis starts at zero rather than below it.
    var nonNegative = false

    /// About `target` round tick values (1, 2 or 5 times a power of ten apart) covering [low, high], and the
    /// decimals they need.
    static func ticks(from low: Double, to high: Double, target: Int = 5) -> (values: [Double], decimals: Int) {
        guard high > low, (high - low).isFinite else { return ([low], 0) }
        let raw = (high - low) / Double(target)
        let power = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * power }.min { abs(log($0 / raw)) < abs(log($1 / raw)) }!
        let first = (low / step).rounded(.up), last = (high / step).rounded(.down)
        guard first <= last else { return ([low], 0) }
        let values = stride(from: first, through: last, by: 1).map { $0 * step }
        return (values, max(0, -Int((log10(step)).rounded(.down))))
    }

    /// A tick label: fixed decimals, thousands and millions shortened (12k, 3.5M) rather than in e-notation.
    static func label(_ value: Double, decimals: Int) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e6 { return String(format: "%gM", (value / 1e5).rounded() / 10) }
        if magnitude >= 1e4 { return String(format: "%gk", (value / 100).rounded() / 10) }
        let text = String(format: "%.\(decimals)f", value)
        return text == "-" + String(format: "%.\(decimals)f", 0.0) ? String(format: "%.\(decimals)f", 0.0) : text
    }

    func render() -> String {
        // The legend gets the room its longest name needs (about 7 px a character at 12 px).
        let longestName = series.map(\.name.count).max() ?? 0
        let left = 64.0, right = 56.0 + 7.0 * Double(longestName), top = 36.0, bottom = 48.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let xs = series.flatMap(\.x), ys = series.flatMap(\.y).filter(\.isFinite)
        let xMin = xs.min() ?? 0, xMax = max(xs.max() ?? 1, xMin + 1e-9)
        var yMin = ys.min() ?? 0, yMax = ys.max() ?? 1
        if yMax - yMin < 1e-9 { yMin -= 0.5; yMax += 0.5 }
        let pad = (yMax - yMin) * 0.05
        yMin -= pad; yMax += pad
        if nonNegative { yMin = max(yMin, 0) }
        let yTicks = SVGChart.ticks(from: yMin, to: yMax), xTicks = SVGChart.ticks(from: xMin, to: xMax)
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (y - yMin) / (yMax - yMin)) * plotHeight }
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="15" font-weight="bold">\(escape(title))</text>
            <rect x="\(left)" y="\(top)" width="\(plotWidth)" height="\(plotHeight)" fill="none" stroke="#999"/>

            """
        for yv in yTicks.values {
            svg += "<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(py(yv))\" y2=\"\(py(yv))\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(left - 6)\" y=\"\(py(yv) + 4)\" text-anchor=\"end\">\(SVGChart.label(yv, decimals: yTicks.decimals))</text>\n"
        }
        for xv in xTicks.values {
            svg += "<text x=\"\(px(xv))\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(SVGChart.label(xv, decimals: xTicks.decimals))</text>\n"
        }
        svg += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg += "<text x=\"14\" y=\"\(top + plotHeight / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(top + plotHeight / 2))\">\(escape(yLabel))</text>\n"
        for (k, s) in series.enumerated() {
            let points = zip(s.x, s.y).filter { $0.1.isFinite }.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.8\"\(s.dashed ? " stroke-dasharray=\"5 3\"" : "") points=\"\(points)\"/>\n"
            let ly = top + 14 + Double(k) * 18
            svg += "<line x1=\"\(left + plotWidth + 12)\" x2=\"\(left + plotWidth + 36)\" y1=\"\(ly - 4)\" y2=\"\(ly - 4)\" stroke=\"\(s.color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"5 3\"" : "")/>\n"
            svg += "<text x=\"\(left + plotWidth + 42)\" y=\"\(ly)\">\(escape(s.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
}

extension Evaluation {
    /// forecast-N.svg for a few windows (channel 0: context tail, actual, each model's forecast) and
    /// error-by-horizon.svg (MSE per horizon step of every model and baseline), written into `folder`, which
    /// appears whole or not at all. Returns the files written.
    public func writePlots(to folder: String) throws -> [String] {
        var written: [String] = []
        try AtomicDirectory.write(folder) { temporary in
            for (name, svg) in plots() {
                try Data(svg.utf8).write(to: temporary.appendingPathComponent(name))
                written.append(URL(fileURLWithPath: folder).appendingPathComponent(name).path)
            }
        }
        return written
    }

    /// (file name, SVG text) of every plot.
    func plots() -> [(String, String)] {
        var plots: [(String, String)] = []
        let shown = min(context, 3 * horizon)
        for (k, example) in examples.enumerated() {
            var series = [SVGChart.Series(name: "history", color: "#888", x: (0..<shown).map { Double($0 - shown) },
                                          y: example.past.suffix(shown).map(Double.init))]
            series.append(.init(name: "actual", color: "#000", x: (0..<horizon).map(Double.init), y: example.actual.map(Double.init)))
            for (m, forecast) in example.forecasts.enumerated() {
                series.append(.init(name: models[m].name, color: SVGChart.palette[m % SVGChart.palette.count],
                                    x: (0..<horizon).map(Double.init), y: forecast.map(Double.init), dashed: true))
            }
            let chart = SVGChart(title: "Forecast vs actual, \(split) window \(k + 1) (\(channels.first ?? "channel 0"))",
                                 xLabel: "time step (0 = first forecast step)", yLabel: channels.first ?? "value", series: series)
            plots.append(("forecast-\(k + 1).svg", chart.render()))
        }
        var errorSeries: [SVGChart.Series] = []
        for (k, entry) in (models + baselines).enumerated() {
            errorSeries.append(.init(name: entry.name, color: SVGChart.palette[k % SVGChart.palette.count],
                                     x: (1...horizon).map(Double.init), y: entry.metrics.perHorizonStep.mse, dashed: k >= models.count))
        }
        let chart = SVGChart(title: "MSE by horizon step (\(split), z-scored)", xLabel: "horizon step", yLabel: "MSE", series: errorSeries,
                             nonNegative: true)
        plots.append(("error-by-horizon.svg", chart.render()))
        return plots
    }
}
