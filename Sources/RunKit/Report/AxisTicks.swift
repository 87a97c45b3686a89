// `AxisTicks`: round tick positions and labels for a plot axis ("nice numbers": steps of 1,
// 2, 2.5 or 5 times a power of ten), with the axis range widened to whole steps. Handles
// degenerate input: equal values, one value, no finite value. Leaves out log and time axes.
import Foundation

public struct AxisTicks: Equatable, Sendable {
    /// Axis range, both ends on a tick.
    public let lower: Double
    public let upper: Double
    /// Distance between ticks.
    public let step: Double
    /// Tick positions, increasing, from `lower` to `upper`.
    public let values: [Double]
    /// One label per tick, all with the same number of decimals (or all in exponent form).
    public let labels: [String]

    /// Ticks covering `[min, max]` with about `target` ticks (at least 2). Non-finite bounds
    /// are ignored; with none left the axis is [0, 1]. Equal bounds are widened around the
    /// value: by 1 around 0, else by half its power of ten (5 -> [4.5, 5.5], -0.03 -> [-0.035, -0.025]).
    public init(min lo: Double, max hi: Double, target: Int = 6) {
        var a = lo.isFinite ? lo : (hi.isFinite ? hi : 0)
        var b = hi.isFinite ? hi : a
        if !lo.isFinite && !hi.isFinite { a = 0; b = 1 }
        if a > b { swap(&a, &b) }
        if a == b {
            let pad = a == 0 ? 1 : Foundation.pow(10, Foundation.floor(Foundation.log10(Swift.abs(a)))) / 2
            a -= pad
            b += pad
        }
        let n = Swift.max(2, target)
        var step = AxisTicks.niceStep((b - a) / Double(n - 1))
        // Widening to whole steps can leave too many ticks: step up until it fits.
        var k0 = Foundation.floor(a / step + 1e-9), k1 = Foundation.ceil(b / step - 1e-9)
        while k1 - k0 + 1 > Double(n + 3) {
            step = AxisTicks.niceStep(step * 1.5)
            k0 = Foundation.floor(a / step + 1e-9)
            k1 = Foundation.ceil(b / step - 1e-9)
        }
        if k1 == k0 { k1 += 1 }
        var values: [Double] = []
        var k = k0
        while k <= k1 { values.append(k * step); k += 1 }
        self.step = step
        self.values = values
        self.lower = values[0]
        self.upper = values[values.count - 1]
        self.labels = AxisTicks.format(values, step: step)
    }

    /// The nice number (1, 2, 2.5, 5 or 10 times a power of ten) nearest to `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let p = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let f = raw / p
        let m: Double = f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10
        return m * p
    }

    /// Fixed decimals from the step (2.5e-3 -> 4 decimals); exponent form when the numbers
    /// are very large (>= 1e7) or all very small (< 1e-4). "-0" never appears.
    static func format(_ values: [Double], step: Double) -> [String] {
        let biggest = values.map { Swift.abs($0) }.max() ?? 0
        if biggest >= 1e7 || biggest < 1e-4 {
            // Enough significant digits to tell neighbouring ticks apart.
            let digits = Swift.min(15, Swift.max(1, Int(Foundation.ceil(Foundation.log10(biggest / step) - 1e-9)) + 1))
            return values.map { v in Swift.abs(v) < step * 1e-9 ? "0" : String(format: "%.\(digits)g", v) }
        }
        // Decimals needed to write the step exactly (2.5 needs one more than 2 or 5).
        var decimals = Swift.max(0, -Int(Foundation.floor(Foundation.log10(step) + 1e-9)))
        let scaled = step * Foundation.pow(10, Double(decimals))
        if Swift.abs(scaled - Foundation.round(scaled)) > 1e-6 { decimals += 1 }
        return values.map { v in
            let s = String(format: "%.\(decimals)f", Swift.abs(v) < step * 1e-9 ? 0 : v)
            return s.hasPrefix("-") && Double(s) == 0 ? String(s.dropFirst()) : s
        }
    }
}
