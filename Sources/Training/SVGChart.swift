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

    func render() -> String {
        let left = 64.0, right = 250.0, top = 36.0, bottom = 48.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let xs = series.flatMap(\.x), ys = series.flatMap(\.y).filter(\.isFinite)
        let xMin = xs.min() ?? 0, xMax = max(xs.max() ?? 1, xMin + 1e-9)
        var yMin = ys.min() ?? 0, yMax = ys.max() ?? 1
        if yMax - yMin < 1e-9 { yMin -= 0.5; yMax += 0.5 }
        let pad = (yMax - yMin) * 0.05
        yMin -= pad; yMax += pad
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (y - yMin) / (yMax - yMin)) * plotHeight }
        func number(_ v: Double) -> String { abs(v) >= 1000 || (abs(v) < 0.01 && v != 0) ? String(format: "%.2g", v) : String(format: "%.3g", v) }
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="15" font-weight="bold">\(escape(title))</text>
            <rect x="\(left)" y="\(top)" width="\(plotWidth)" height="\(plotHeight)" fill="none" stroke="#999"/>

            """
        for i in 0...4 {
            let yv = yMin + (yMax - yMin) * Double(i) / 4, xv = xMin + (xMax - xMin) * Double(i) / 4
            svg += "<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(py(yv))\" y2=\"\(py(yv))\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(left - 6)\" y=\"\(py(yv) + 4)\" text-anchor=\"end\">\(number(yv))</text>\n"
            svg += "<text x=\"\(px(xv))\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(number(xv))</text>\n"
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
        let chart = SVGChart(title: "MSE by horizon step (\(split), z-scored)", xLabel: "horizon step", yLabel: "MSE", series: errorSeries)
        plots.append(("error-by-horizon.svg", chart.render()))
        return plots
    }
}
