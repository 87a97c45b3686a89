// Tests of the HTML report and SVG plots: output parses as XML, text is escaped (and reads
// back unchanged), bytes are deterministic, ticks are round for awkward ranges (equal
// values, negatives, one point, tiny and huge), non-finite points break lines, and the file
// is written atomically. Leaves out pixels (checked by hand, see the commit message).
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import RunKit

/// Parses `text` as XML; returns the element names in document order and all character
/// data, or the parser's error.
private final class XMLCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var text = ""
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(name)
        text += attributes.values.sorted().joined(separator: "\n") + "\n"
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    static func parse(_ s: String) throws -> XMLCollector {
        let c = XMLCollector()
        let p = XMLParser(data: Data(s.utf8))
        p.delegate = c
        guard p.parse() else { throw p.parserError ?? CocoaError(.coderReadCorrupt) }
        return c
    }
}

private func samplePlot(title: String = "PPO mean score") -> SVGLinePlot {
    SVGLinePlot(title: title, xLabel: "iteration", yLabel: "score", series: [
        .init(name: "policy", y: [0.1, 0.35, 0.2, 0.8, 1.3, 1.25, 1.9]),
        .init(name: "reference", x: [0, 2, 4, 6], y: [0.0, 0.1, 0.05, 0.12]),
    ])
}

private func sampleReport() -> HTMLReport {
    var r = HTMLReport(title: "RLHF demo", subtitle: "swift run -c release rlhf demo")
    var s = HTMLReport.Section("Reward model")
    s.paragraph("Held-out pairwise accuracy after training.")
    s.stats([("accuracy", "0.836"), ("pairs", "2,114")], caption: "held out")
    s.plot(samplePlot())
    r.sections.append(s)
    var t = HTMLReport.Section("Samples")
    t.table(header: ["prompt", "SFT", "PPO"], rows: [["The film", "is dull.", "is a delight."], ["Short row"]])
    r.sections.append(t)
    return r
}

@Suite struct AxisTicksTests {
    /// Round: the step is 1, 2, 2.5 or 5 times a power of ten, ticks are multiples of it.
    static func checkRound(_ t: AxisTicks, covering lo: Double, _ hi: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        let p = pow(10, floor(log10(t.step)))
        let m = t.step / p
        #expect([1, 2, 2.5, 5].contains { abs(m - $0) < 1e-9 }, "step \(t.step)", sourceLocation: sourceLocation)
        #expect(t.values.count >= 2 && t.values.count <= 10, "\(t.values)", sourceLocation: sourceLocation)
        #expect(zip(t.values, t.values.dropFirst()).allSatisfy { $0 < $1 }, sourceLocation: sourceLocation)
        for v in t.values { #expect(abs(v / t.step - (v / t.step).rounded()) < 1e-6, "tick \(v)", sourceLocation: sourceLocation) }
        #expect(t.lower <= lo && t.upper >= hi, "[\(t.lower), \(t.upper)] covers [\(lo), \(hi)]", sourceLocation: sourceLocation)
        #expect(Set(t.labels).count == t.labels.count, "labels distinct: \(t.labels)", sourceLocation: sourceLocation)
        #expect(!t.labels.contains { $0.hasPrefix("-0") && Double($0) == 0 }, "\(t.labels)", sourceLocation: sourceLocation)
    }

    @Test func plainRange() {
        let t = AxisTicks(min: 0, max: 10, target: 6)
        #expect(t.values == [0, 2, 4, 6, 8, 10])
        #expect(t.labels == ["0", "2", "4", "6", "8", "10"])
    }

    @Test func awkwardRanges() {
        for (lo, hi) in [(-7.3, -2.1), (-0.37, 0.81), (0.001, 0.0013), (1e6, 3.2e6), (2.31, 2.38),
                         (-1e-7, 3e-7), (0, 1e9), (99.5, 100.5), (-4, 4), (1, 1.0000001)] {
            Self.checkRound(AxisTicks(min: lo, max: hi), covering: lo, hi)
        }
        #expect(AxisTicks(min: -7.3, max: -2.1).labels == ["-8", "-7", "-6", "-5", "-4", "-3", "-2"])
        #expect(AxisTicks(min: 0, max: 0.25, target: 6).labels == ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25"])
        #expect(AxisTicks(min: -1, max: 1, target: 5).labels == ["-1.0", "-0.5", "0.0", "0.5", "1.0"])
    }

    @Test func equalValuesAndOnePoint() {
        let t = AxisTicks(min: 5, max: 5)
        Self.checkRound(t, covering: 5, 5)
        #expect(t.lower < 5 && t.upper > 5)
        let z = AxisTicks(min: 0, max: 0)
        Self.checkRound(z, covering: -1, 1)
        let neg = AxisTicks(min: -0.03, max: -0.03)
        Self.checkRound(neg, covering: -0.03, -0.03)
        #expect(neg.lower < -0.03 && neg.upper > -0.03)
    }

    @Test func nonFiniteBounds() {
        #expect(AxisTicks(min: .nan, max: .nan).values.first == 0)
        #expect(AxisTicks(min: .nan, max: .nan).values.last == 1)
        Self.checkRound(AxisTicks(min: -.infinity, max: 3), covering: 3, 3)
    }
}

@Suite struct ReportTests {
    @Test func plotIsWellFormedAndComplete() throws {
        let svg = samplePlot().svg()
        let x = try XMLCollector.parse(svg)
        #expect(x.elements.first == "svg")
        #expect(x.elements.filter { $0 == "polyline" }.count == 2)
        #expect(x.text.contains("PPO mean score") && x.text.contains("iteration") && x.text.contains("score"))
        #expect(x.text.contains("policy") && x.text.contains("reference"))
        #expect(!svg.contains("http://") || svg.components(separatedBy: "http://").count == 2, "only the SVG namespace")
        #expect(!svg.contains("<script") && !svg.contains("href") && !svg.contains("@import"))
    }

    @Test func nanBreaksTheLineAndNeverPrints() throws {
        let plot = SVGLinePlot(title: "kl", xLabel: "step", yLabel: "nats", series: [
            .init(name: "kl", y: [1, 2, .nan, 3, 4, .infinity, 5]),
            .init(name: "missing", y: [.nan, .nan]),
        ])
        let svg = plot.svg()
        let x = try XMLCollector.parse(svg)
        #expect(x.elements.filter { $0 == "polyline" }.count == 2, "runs [1,2] and [3,4]")
        #expect(x.elements.filter { $0 == "circle" }.count == 5, "short series: a dot per finite point")
        for bad in ["nan", "NaN", "inf"] { #expect(!svg.contains(bad), "\(bad) in output") }
    }

    @Test func degenerateData() throws {
        let one = SVGLinePlot(title: "one", xLabel: "x", yLabel: "y", series: [.init(name: "", x: [3], y: [-2])]).svg()
        #expect(try XMLCollector.parse(one).elements.contains("circle"))
        let flat = SVGLinePlot(title: "flat", xLabel: "x", yLabel: "y", series: [.init(name: "c", y: Array(repeating: 0.5, count: 100))]).svg()
        let fx = try XMLCollector.parse(flat)
        #expect(fx.elements.contains("polyline") && !fx.elements.contains("circle"), "long series: no dots")
        let empty = SVGLinePlot(title: "empty", xLabel: "x", yLabel: "y", series: []).svg()
        #expect(try XMLCollector.parse(empty).text.contains("no data"))
    }

    @Test func textIsEscaped() throws {
        let nasty = "a<b & c>d \"q\" 's' </svg><script>x</script> \u{01}"
        var r = HTMLReport(title: nasty, subtitle: nasty)
        var s = HTMLReport.Section(nasty)
        s.paragraph(nasty)
        s.stats([(nasty, nasty)], caption: nasty)
        s.table(header: [nasty], rows: [[nasty]], caption: nasty)
        s.plot(SVGLinePlot(title: nasty, xLabel: nasty, yLabel: nasty, series: [.init(name: nasty, y: [1, 2])]))
        r.sections.append(s)
        let html = r.html()
        #expect(!html.contains("<script") && !html.contains("<b &") && !html.contains("\u{01}"))
        #expect(html.contains("a&lt;b &amp; c&gt;d &quot;q&quot; &#39;s&#39;"))
        let x = try XMLCollector.parse(html)
        // The raw text comes back through the XML parser (the control character as U+FFFD).
        let readBack = nasty.replacingOccurrences(of: "\u{01}", with: "\u{FFFD}")
        #expect(x.text.components(separatedBy: readBack).count - 1 >= 12)
        #expect(!x.elements.contains("script"))
    }

    @Test func reportStructure() throws {
        let html = sampleReport().html()
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
        let x = try XMLCollector.parse(html)
        #expect(x.elements.prefix(5) == ["html", "head", "meta", "meta", "title"])
        #expect(x.elements.filter { $0 == "section" }.count == 2)
        #expect(x.elements.filter { $0 == "svg" }.count == 1)
        #expect(x.elements.filter { $0 == "table" }.count == 2)
        #expect(x.elements.filter { $0 == "td" }.count == 2 + 6, "stats 2 + data 2x3 (short row padded)")
    }

    @Test func deterministicBytes() {
        #expect(sampleReport().html() == sampleReport().html())
        #expect(samplePlot().svg() == samplePlot().svg())
    }

    @Test func writesAtomically() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runkit-report-\(UUID().uuidString)/out")
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let url = dir.appendingPathComponent("report.html")
        try HTMLReport(title: "old").write(to: url)
        let report = sampleReport()
        try report.write(to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == report.html())
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["report.html"], "no temp files left")
    }
}
