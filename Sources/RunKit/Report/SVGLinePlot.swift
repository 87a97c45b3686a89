// `SVGLinePlot`: a line chart as a self-contained SVG element (title, axis labels, round
// ticks with grid lines, named series, legend above the plot), to embed in an HTML report or
// save as .svg. Generic `sans-serif` font, no scripts, no external resources; the same input
// gives the same bytes. Leaves out log scales, error bands, interactivity.
import Foundation

public struct SVGLinePlot: Sendable {
    /// One named line. Points with a non-finite x or y are skipped and break the line.
    public struct Series: Sendable {
        public var name: String
        public var x: [Double]
        public var y: [Double]

        /// Points as (x, y) pairs; `x.count == y.count`.
        public init(name: String, x: [Double], y: [Double]) {
            precondition(x.count == y.count, "series '\(name)': \(x.count) x values but \(y.count) y values")
            self.name = name
            self.x = x
            self.y = y
        }

        /// y values at x = 0, 1, 2, ...
        public init(name: String, y: [Double]) {
            self.init(name: name, x: y.indices.map(Double.init), y: y)
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Size in CSS pixels.
    public var width: Int
    public var height: Int

    public init(title: String, xLabel: String, yLabel: String, series: [Series], width: Int = 640, height: Int = 360) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.width = width
        self.height = height
    }

    /// Line colours, cycled (Tableau 10).
    static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
    /// Series with at most this many finite points also get a dot at each point.
    static let markerLimit = 40

    /// The `<svg>` element (no XML prolog: valid inline in HTML and as a file on its own).
    public func svg() -> String {
        // 1. Data ranges over finite points only.
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for (x, y) in zip(s.x, s.y) where x.isFinite && y.isFinite { xs.append(x); ys.append(y) }
        }
        let xt = AxisTicks(min: xs.min() ?? .nan, max: xs.max() ?? .nan, target: 7)
        // y gets 3% headroom so lines never run along the frame; x stays tight (steps).
        let yPad = ((ys.max() ?? 0) - (ys.min() ?? 0)) * 0.03
        let yt = AxisTicks(min: (ys.min() ?? .nan) - yPad, max: (ys.max() ?? .nan) + yPad, target: 6)

        // 2. Layout: the legend goes in rows above the plot area (never over the data),
        //    right-aligned; margins are sized for the tick labels (about 7 px a character).
        let w = Double(Swift.max(width, 200)), h = Double(Swift.max(height, 150))
        let yLabelWidth = Double(yt.labels.map(\.count).max() ?? 1) * 7
        let left = 30 + yLabelWidth, right = 16.0, bottom = 52.0
        let pw = w - left - right
        let showLegend = series.count > 1 || series.contains { !$0.name.isEmpty }
        var legendRows: [[(index: Int, width: Double)]] = []
        if showLegend {
            var row: [(index: Int, width: Double)] = [], used = 0.0
            for (k, s) in series.enumerated() {
                let iw = Double(s.name.count) * 7 + 34
                if !row.isEmpty && used + iw > pw { legendRows.append(row); row = []; used = 0 }
                row.append((k, iw)); used += iw
            }
            if !row.isEmpty { legendRows.append(row) }
        }
        let top = 36.0 + Double(legendRows.count) * 18 + (legendRows.isEmpty ? 0 : 4)
        let ph = h - top - bottom
        func px(_ x: Double) -> Double { left + (x - xt.lower) / (xt.upper - xt.lower) * pw }
        func py(_ y: Double) -> Double { top + ph - (y - yt.lower) / (yt.upper - yt.lower) * ph }
        let c = Markup.coord, e = Markup.escape

        // 3. Frame, title, grid, ticks, axis labels.
        var o = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" "
        o += "viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"\(e(title))\">\n"
        o += "<title>\(e(title))</title>\n"
        o += "<rect x=\"0\" y=\"0\" width=\"\(Int(w))\" height=\"\(Int(h))\" fill=\"#ffffff\"/>\n"
        o += "<text x=\"\(c(w / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(e(title))</text>\n"
        o += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n"
        for v in yt.values { o += "<line x1=\"\(c(left))\" y1=\"\(c(py(v)))\" x2=\"\(c(left + pw))\" y2=\"\(c(py(v)))\"/>\n" }
        for v in xt.values { o += "<line x1=\"\(c(px(v)))\" y1=\"\(c(top))\" x2=\"\(c(px(v)))\" y2=\"\(c(top + ph))\"/>\n" }
        o += "</g>\n"
        o += "<rect x=\"\(c(left))\" y=\"\(c(top))\" width=\"\(c(pw))\" height=\"\(c(ph))\" fill=\"none\" stroke=\"#555555\"/>\n"
        o += "<g fill=\"#333333\">\n"
        for (v, l) in zip(yt.values, yt.labels) {
            o += "<text x=\"\(c(left - 6))\" y=\"\(c(py(v) + 4))\" text-anchor=\"end\">\(e(l))</text>\n"
        }
        for (v, l) in zip(xt.values, xt.labels) {
            o += "<text x=\"\(c(px(v)))\" y=\"\(c(top + ph + 17))\" text-anchor=\"middle\">\(e(l))</text>\n"
        }
        o += "<text x=\"\(c(left + pw / 2))\" y=\"\(c(h - 10))\" text-anchor=\"middle\">\(e(xLabel))</text>\n"
        o += "<text x=\"14\" y=\"\(c(top + ph / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(c(top + ph / 2)))\">\(e(yLabel))</text>\n"
        o += "</g>\n"
        if xs.isEmpty {
            o += "<text x=\"\(c(left + pw / 2))\" y=\"\(c(top + ph / 2))\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n"
        }

        // 4. Series: one polyline per unbroken run of finite points; dots for short series
        //    and for runs of a single point (a line of one point would not show).
        for (k, s) in series.enumerated() {
            let colour = Self.palette[k % Self.palette.count]
            var runs: [[(Double, Double)]] = [[]]
            for (x, y) in zip(s.x, s.y) {
                if x.isFinite && y.isFinite {
                    runs[runs.count - 1].append((px(x), py(y)))
                } else if !runs[runs.count - 1].isEmpty {
                    runs.append([])
                }
            }
            runs.removeAll { $0.isEmpty }
            let finite = runs.reduce(0) { $0 + $1.count }
            o += "<g class=\"series\" stroke=\"\(colour)\" fill=\"\(colour)\">\n"
            for run in runs where run.count > 1 {
                o += "<polyline fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\""
                o += run.map { "\(c($0.0)),\(c($0.1))" }.joined(separator: " ")
                o += "\"/>\n"
            }
            for run in runs where run.count == 1 || finite <= Self.markerLimit {
                for p in run { o += "<circle cx=\"\(c(p.0))\" cy=\"\(c(p.1))\" r=\"2.5\" stroke=\"none\"/>\n" }
            }
            o += "</g>\n"
        }

        // 5. Legend rows.
        if !legendRows.isEmpty {
            o += "<g class=\"legend\" fill=\"#333333\">\n"
            for (r, row) in legendRows.enumerated() {
                var x = left + pw - row.reduce(0) { $0 + $1.width }
                let ly = 36 + Double(r) * 18 + 6
                for item in row {
                    let colour = Self.palette[item.index % Self.palette.count]
                    o += "<line x1=\"\(c(x + 6))\" y1=\"\(c(ly))\" x2=\"\(c(x + 24))\" y2=\"\(c(ly))\" stroke=\"\(colour)\" stroke-width=\"3\"/>\n"
                    o += "<text x=\"\(c(x + 29))\" y=\"\(c(ly + 4))\">\(e(series[item.index].name))</text>\n"
                    x += item.width
                }
            }
            o += "</g>\n"
        }
        o += "</svg>"
        return o
    }
}
