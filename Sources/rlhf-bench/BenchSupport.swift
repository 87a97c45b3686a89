// Shared helpers for every benchmark family: the `name: value unit` line format and a
// warmed-up median timer. Leaves out: statistics beyond the median (the machines are
// noisy; compare ratios taken in one run, see shared/PERF-NOTES.md).
import Foundation

/// Prints one figure as `name: value unit`, with enough digits to compare runs.
func printFigure(_ name: String, _ value: Double, _ unit: String) {
    let text: String
    if value != 0 && abs(value) < 0.01 {
        text = String(format: "%.2e", value)
    } else {
        text = String(format: "%.\(abs(value) >= 100 ? 1 : abs(value) >= 1 ? 2 : 3)f", value)
    }
    print(unit.isEmpty ? "\(name): \(text)" : "\(name): \(text) \(unit)")
}

/// Prints a non-numeric fact (a library's absence, a chosen kernel) in the same shape.
func printFact(_ name: String, _ value: String) {
    print("\(name): \(value)")
}

/// Monotonic wall clock in seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The median of `x` (the mean of the middle two for an even count); `x` must not be empty.
func median(_ x: [Double]) -> Double {
    let s = x.sorted(), mid = s.count / 2
    return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/// Median wall time in seconds of `runs` calls to `body`, after `warmup` untimed calls.
func median(seconds runs: Int, warmup: Int = 2, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    var times: [Double] = []
    for _ in 0..<max(1, runs) {
        let start = now()
        body()
        times.append(now() - start)
    }
    return median(times)
}
