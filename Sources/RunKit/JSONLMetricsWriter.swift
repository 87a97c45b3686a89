// `JSONLMetricsWriter`: appends one JSON object per step to a metrics file,
// `{"step": 10, "wall_time": 1732540000.125, "train/loss": 2.31, ...}`, scalars flat and in
// logging order (pandas.read_json(lines=True) reads it). Non-finite values are written as
// Python's json module writes them: NaN, Infinity, -Infinity. Leaves out rotation.
import Foundation

public final class JSONLMetricsWriter: MetricsSink {
    public let url: URL
    let handle: FileHandle
    var buffer = Foundation.Data()

    /// Opens `url` for appending (created if missing), so a resumed run continues the file.
    public init(url: URL) throws {
        self.url = url
        let fm = FileManager.default
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !fm.fileExists(atPath: url.path) { _ = fm.createFile(atPath: url.path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: url.path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = h
        try handle.seekToEnd()
    }

    deinit { try? flush(); try? handle.close() }

    /// The JSON line for `record` (without the newline). "step" and "wall_time" come first;
    /// a scalar with one of those names is refused by `log`.
    public static func line(_ record: MetricsRecord) -> String {
        var s = "{\"step\": \(record.step), \"wall_time\": \(number(record.wallTime))"
        for x in record.scalars { s += ", \(quote(x.name)): \(number(x.value))" }
        return s + "}"
    }

    public func log(_ record: MetricsRecord) throws {
        for x in record.scalars where x.name == "step" || x.name == "wall_time" {
            throw CocoaError(.coderInvalidValue, userInfo: [NSDebugDescriptionErrorKey: "metric name \"\(x.name)\" is reserved"])
        }
        buffer.append(contentsOf: Array((Self.line(record) + "\n").utf8))
        if buffer.count > 1 << 16 { try flush() }
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "Infinity" : "-Infinity" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) + ".0" }
        return "\(v)"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// Keeps records in memory (tests, `TrainerState.metricsHistory`).
public final class MetricsHistory: MetricsSink {
    public private(set) var records: [MetricsRecord] = []
    public init(_ records: [MetricsRecord] = []) { self.records = records }
    public func log(_ record: MetricsRecord) throws { records.append(record) }
    public func flush() throws {}
}
