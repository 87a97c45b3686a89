// Tests of the JSONL metrics writer (exact lines, append on reopen, non-finite values) and
// of MetricsRecord's Codable form.
import Foundation
import Testing
import RunKit

@Test func jsonlLinesAreExact() {
    let r = MetricsRecord(step: 3, wallTime: 1700000000.5, ["train/loss": 2.5, "lr": 0.0003, "bad": .nan, "tokens": 4096])
    #expect(JSONLMetricsWriter.line(r)
            == #"{"step": 3, "wall_time": 1700000000.5, "train/loss": 2.5, "lr": 0.0003, "bad": NaN, "tokens": 4096.0}"#)
    #expect(JSONLMetricsWriter.line(MetricsRecord(step: 0, wallTime: 1, ["q\"x": -.infinity]))
            == #"{"step": 0, "wall_time": 1.0, "q\"x": -Infinity}"#)
}

@Test func jsonlWriterAppendsAcrossReopen() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runkit-jsonl-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("metrics.jsonl")
    do {
        let w = try JSONLMetricsWriter(url: url)
        try w.log(MetricsRecord(step: 1, wallTime: 10, ["loss": 1]))
        try w.flush()
    }
    do {
        let w = try JSONLMetricsWriter(url: url)
        try w.log(MetricsRecord(step: 2, wallTime: 11, ["loss": 0.5]))
        #expect(throws: (any Error).self) { try w.log(MetricsRecord(step: 3, wallTime: 12, ["step": 1])) }
        try w.flush()
    }
    let text = try String(contentsOf: url, encoding: .utf8)
    #expect(text == "{\"step\": 1, \"wall_time\": 10.0, \"loss\": 1.0}\n{\"step\": 2, \"wall_time\": 11.0, \"loss\": 0.5}\n")
}

@Test func fanoutAndHistory() throws {
    let a = MetricsHistory(), b = MetricsHistory()
    let f = MetricsFanout([a, b])
    try f.log(MetricsRecord(step: 1, wallTime: 0, ["x": 1]))
    #expect(a.records.count == 1 && b.records == a.records && a.records[0]["x"] == 1)
}

@Test func metricsRecordCodableKeepsNonFinite() throws {
    let r = MetricsRecord(step: 7, wallTime: 12.25, ["a": 1.5, "b": .infinity, "c": .nan])
    let back = try JSONDecoder().decode(MetricsRecord.self, from: try JSONEncoder().encode(r))
    #expect(back.step == 7 && back.wallTime == 12.25 && back["a"] == 1.5 && back["b"] == .infinity && back["c"]!.isNaN)
}
