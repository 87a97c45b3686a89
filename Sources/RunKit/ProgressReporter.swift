// `ProgressReporter`: training progress as a redrawn bar with rate and ETA on a terminal,
// or as plain periodic lines when output goes to a file or pipe. Text goes to an injected
// sink (`(String) -> Void`), so the library itself never prints; `standardError(...)` is
// the sink a command-line tool uses. Leaves out nested bars and terminal-width detection.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class ProgressReporter {
    public enum Style: Sendable, Equatable {
        /// `\r`-redrawn single line: `sft [#####.....] 120/1000 12.3 step/s ETA 01:11 loss 2.31`.
        case bar
        /// One full line per report: `sft step 120/1000 (12.0%) 12.3 step/s ETA 01:11 loss 2.31`.
        case lines
    }

    public let total: Int?
    public let style: Style
    public let label: String
    /// Unit in the rate ("step/s").
    public let unit: String
    /// Seconds between reports (the last step is always reported).
    public let interval: Double
    public let barWidth: Int
    let output: (String) -> Void
    let clock: () -> Double

    var start: (time: Double, count: Int)?
    var lastEmit = -Double.infinity
    var lastLineLength = 0
    var finished = false

    /// - Parameters:
    ///   - interval: seconds between reports; default 0.1 for `.bar`, 10 for `.lines`.
    ///   - clock: seconds from any fixed origin (monotonic by default); tests inject their own.
    public init(total: Int?, style: Style, label: String = "", unit: String = "step", interval: Double? = nil,
                barWidth: Int = 24, output: @escaping (String) -> Void,
                clock: @escaping () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.total = total; self.style = style; self.label = label; self.unit = unit
        self.interval = interval ?? (style == .bar ? 0.1 : 10)
        self.barWidth = barWidth; self.output = output; self.clock = clock
    }

    /// A reporter writing to standard error: a bar when it is a terminal, lines otherwise.
    public static func standardError(total: Int?, label: String = "", unit: String = "step") -> ProgressReporter {
        ProgressReporter(total: total, style: standardErrorIsTerminal ? .bar : .lines, label: label, unit: unit,
                         output: { FileHandle.standardError.write(Foundation.Data($0.utf8)) })
    }

    public static var standardErrorIsTerminal: Bool { isatty(2) == 1 }

    /// Reports that `completed` units are done, with optional metrics shown after the ETA.
    /// The first call fixes the origin of the rate (so a resumed run's rate is its own).
    public func update(_ completed: Int, metrics: KeyValuePairs<String, Double> = [:]) {
        update(completed, metricList: metrics.map { ($0.key, $0.value) })
    }

    /// As `update(_:metrics:)`, with the metrics as a list built at run time.
    public func update(_ completed: Int, metricList metrics: [(String, Double)]) {
        let now = clock()
        if start == nil { start = (now, completed); emit(completed, now: now, metrics: metrics); return }
        let isLast = total.map { completed >= $0 } ?? false
        guard isLast || now - lastEmit >= interval else { return }
        emit(completed, now: now, metrics: metrics)
    }

    /// Ends the bar's line (no-op for `.lines`); call once after the last update.
    public func finish() {
        guard !finished else { return }
        finished = true
        if style == .bar, lastLineLength > 0 { output("\n") }
    }

    /// The text of one report, without `\r` or newline.
    public func render(_ completed: Int, now: Double, metrics: KeyValuePairs<String, Double> = [:]) -> String {
        render(completed, now: now, metricList: metrics.map { ($0.key, $0.value) })
    }

    func render(_ completed: Int, now: Double, metricList metrics: [(String, Double)]) -> String {
        var parts: [String] = []
        if !label.isEmpty { parts.append(label) }
        if let total, total > 0 {
            let frac = min(1, max(0, Double(completed) / Double(total)))
            if style == .bar {
                let filled = Int((frac * Double(barWidth)).rounded(.down))
                parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]")
                parts.append("\(completed)/\(total)")
            } else {
                parts.append("\(unit) \(completed)/\(total) (\(String(format: "%.1f", frac * 100))%)")
            }
        } else {
            parts.append(style == .bar ? "\(completed)" : "\(unit) \(completed)")
        }
        if let start, now > start.time, completed > start.count {
            let rate = Double(completed - start.count) / (now - start.time)
            parts.append(rate >= 1 ? String(format: "%.1f", rate) + " \(unit)/s" : String(format: "%.2f", 1 / rate) + " s/\(unit)")
            if let total, completed < total { parts.append("ETA " + Self.duration(Double(total - completed) / rate)) }
            else { parts.append("in " + Self.duration(now - start.time)) }
        }
        for (k, v) in metrics { parts.append("\(k) \(String(format: "%.4g", v))") }
        return parts.joined(separator: " ")
    }

    func emit(_ completed: Int, now: Double, metrics: [(String, Double)]) {
        lastEmit = now
        let text = render(completed, now: now, metricList: metrics)
        switch style {
        case .bar:
            let pad = max(0, lastLineLength - text.count)
            output("\r" + text + String(repeating: " ", count: pad))
            lastLineLength = text.count
        case .lines:
            output(text + "\n")
        }
    }

    /// "05:07" or "1:02:03".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        let h = s / 3600, m = (s % 3600) / 60, sec = s % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%02d:%02d", m, sec)
    }
}
