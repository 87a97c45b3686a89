// `MetricsRecord`: the scalars logged at one optimizer step (name -> value, in the order the
// trainer logged them) with the wall-clock time, and `MetricsSink`, what every metrics
// writer (JSONL, TensorBoard, in-memory history) implements. Leaves out histograms,
// images and text summaries.
import Foundation

public struct MetricsRecord: Equatable, Sendable, Codable {
    public struct Scalar: Equatable, Sendable {
        public var name: String
        public var value: Double
        public init(_ name: String, _ value: Double) { self.name = name; self.value = value }
    }

    /// Optimizer step the values belong to.
    public var step: Int
    /// Seconds since 1970-01-01 UTC when the values were logged.
    public var wallTime: Double
    /// Named values in logging order, e.g. ("train/loss", 2.31), ("train/lr", 3e-4).
    public var scalars: [Scalar]

    public init(step: Int, wallTime: Double = Date().timeIntervalSince1970, scalars: [Scalar]) {
        self.step = step; self.wallTime = wallTime; self.scalars = scalars
    }

    public init(step: Int, wallTime: Double = Date().timeIntervalSince1970, _ scalars: KeyValuePairs<String, Double>) {
        self.init(step: step, wallTime: wallTime, scalars: scalars.map { Scalar($0.key, $0.value) })
    }

    /// The value logged under `name`, if any.
    public subscript(name: String) -> Double? { scalars.first { $0.name == name }?.value }

    enum CodingKeys: String, CodingKey { case step, wallTime = "wall_time", scalars }

    struct NameKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Scalars are an object in JSON (`{"train/loss": 2.31}`); non-finite values are the
    /// strings "NaN", "Infinity", "-Infinity".
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(wallTime, forKey: .wallTime)
        var s = c.nestedContainer(keyedBy: NameKey.self, forKey: .scalars)
        for x in scalars {
            if x.value.isFinite { try s.encode(x.value, forKey: NameKey(stringValue: x.name)) }
            else { try s.encode(JSONLMetricsWriter.number(x.value), forKey: NameKey(stringValue: x.name)) }
        }
    }

    /// Decoded scalars come back sorted by name (JSON objects carry no order).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        wallTime = try c.decode(Double.self, forKey: .wallTime)
        let s = try c.nestedContainer(keyedBy: NameKey.self, forKey: .scalars)
        scalars = try s.allKeys.sorted { $0.stringValue < $1.stringValue }.map { k in
            if let v = try? s.decode(Double.self, forKey: k) { return Scalar(k.stringValue, v) }
            switch try s.decode(String.self, forKey: k) {
            case "NaN": return Scalar(k.stringValue, .nan)
            case "Infinity": return Scalar(k.stringValue, .infinity)
            case "-Infinity": return Scalar(k.stringValue, -.infinity)
            case let other:
                throw DecodingError.dataCorruptedError(forKey: k, in: s, debugDescription: "not a number: \(other)")
            }
        }
    }
}

/// Something that takes metrics records: a file writer, a fan-out, an in-memory list.
public protocol MetricsSink: AnyObject {
    func log(_ record: MetricsRecord) throws
    /// Pushes buffered records to disk.
    func flush() throws
}

/// Sends each record to several sinks (e.g. JSONL + TensorBoard).
public final class MetricsFanout: MetricsSink {
    public let sinks: [MetricsSink]
    public init(_ sinks: [MetricsSink]) { self.sinks = sinks }
    public func log(_ record: MetricsRecord) throws { for s in sinks { try s.log(record) } }
    public func flush() throws { for s in sinks { try s.flush() } }
}
