// Tests of ProgressReporter through an injected sink and clock: plain lines every interval
// (and always the last step), the redrawn bar with rate and ETA, and duration formatting.
import Foundation
import Testing
import RunKit

final class Capture: @unchecked Sendable {
    var chunks: [String] = []
    var now = 0.0
}

@Test func plainLinesAtIntervalsAndAtTheEnd() {
    let cap = Capture()
    let p = ProgressReporter(total: 100, style: .lines, label: "sft", interval: 10,
                             output: { cap.chunks.append($0) }, clock: { cap.now })
    p.update(0)
    cap.now = 5; p.update(50, metrics: ["loss": 3])            // within the interval: silent
    cap.now = 10; p.update(60, metrics: ["loss": 2.5])
    cap.now = 12; p.update(100, metrics: ["loss": 2.25])       // last step: always reported
    p.finish()
    #expect(cap.chunks == [
        "sft step 0/100 (0.0%)\n",
        "sft step 60/100 (60.0%) 6.0 step/s ETA 00:07 loss 2.5\n",
        "sft step 100/100 (100.0%) 8.3 step/s in 00:12 loss 2.25\n",
    ])
}

@Test func barRedrawsWithRateAndETA() {
    let cap = Capture()
    let p = ProgressReporter(total: 1000, style: .bar, barWidth: 10, output: { cap.chunks.append($0) }, clock: { cap.now })
    cap.now = 100; p.update(200)                                // resumed run: rate counts from here
    cap.now = 110; p.update(250, metrics: ["loss": 1.234567])
    cap.now = 110.05; p.update(251)                             // under 0.1 s: no redraw
    p.finish()
    #expect(cap.chunks.count == 3)
    #expect(cap.chunks[0] == "\r[##........] 200/1000")
    #expect(cap.chunks[1] == "\r[##........] 250/1000 5.0 step/s ETA 02:30 loss 1.235")
    #expect(cap.chunks[2] == "\n")
}

@Test func slowRatesAndUnknownTotals() {
    let cap = Capture()
    let p = ProgressReporter(total: nil, style: .lines, unit: "rollout", interval: 0, output: { cap.chunks.append($0) }, clock: { cap.now })
    p.update(0)
    cap.now = 40; p.update(2)
    #expect(cap.chunks.last == "rollout 2 20.00 s/rollout in 00:40\n")
    #expect(ProgressReporter.duration(3723) == "1:02:03" && ProgressReporter.duration(59.6) == "01:00")
    #expect(ProgressReporter.duration(.infinity) == "--:--")
}
