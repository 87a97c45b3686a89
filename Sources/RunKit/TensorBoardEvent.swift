// The TensorBoard `Event` protobuf, encoded and decoded by hand for the fields we use:
// Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5 }
// Summary { repeated Value value = 1 }, Value { string tag = 1; float simple_value = 2 }.
// Leaves out every other field (graphs, histograms, images, tensors); the decoder skips them.
import Foundation

public struct TensorBoardEvent: Equatable, Sendable {
    public var wallTime: Double
    public var step: Int64
    /// Set only on a file's first event ("brain.Event:2").
    public var fileVersion: String?
    /// (tag, simple_value) pairs of the event's summary.
    public var scalars: [(tag: String, value: Float)]

    public init(wallTime: Double, step: Int64, fileVersion: String? = nil, scalars: [(tag: String, value: Float)] = []) {
        self.wallTime = wallTime; self.step = step; self.fileVersion = fileVersion; self.scalars = scalars
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.wallTime == b.wallTime && a.step == b.step && a.fileVersion == b.fileVersion
            && a.scalars.count == b.scalars.count
            && zip(a.scalars, b.scalars).allSatisfy { $0.tag == $1.tag && $0.value.bitPattern == $1.value.bitPattern }
    }

    // MARK: encoding

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.append(0x09)                                   // field 1, fixed64
        out += TFRecord.littleEndian(wallTime.bitPattern)
        if step != 0 { out.append(0x10); Self.varint(UInt64(bitPattern: step), into: &out) }   // field 2, varint
        if let v = fileVersion { Self.lengthDelimited(field: 3, Array(v.utf8), into: &out) }
        if !scalars.isEmpty {
            var summary: [UInt8] = []
            for s in scalars {
                var value: [UInt8] = []
                Self.lengthDelimited(field: 1, Array(s.tag.utf8), into: &value)
                value.append(0x15)                         // field 2, fixed32
                value += TFRecord.littleEndian(s.value.bitPattern)
                Self.lengthDelimited(field: 1, value, into: &summary)
            }
            Self.lengthDelimited(field: 5, summary, into: &out)
        }
        return out
    }

    static func varint(_ v: UInt64, into out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    static func lengthDelimited(field: Int, _ bytes: [UInt8], into out: inout [UInt8]) {
        varint(UInt64(field << 3 | 2), into: &out)
        varint(UInt64(bytes.count), into: &out)
        out += bytes
    }

    // MARK: decoding

    public struct DecodeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Decodes an Event, skipping fields other than the four above.
    public init(decoding bytes: [UInt8]) throws {
        wallTime = 0; step = 0; fileVersion = nil; scalars = []
        try Self.fields(bytes) { field, wire, payload in
            switch (field, wire) {
            case (1, 1): wallTime = Double(bitPattern: TFRecord.readLE(payload, as: UInt64.self))
            case (2, 0): step = Int64(bitPattern: TFRecord.readLE(payload, as: UInt64.self))
            case (3, 2): fileVersion = String(decoding: payload, as: UTF8.self)
            case (5, 2):
                try Self.fields(payload) { f, w, valueBytes in
                    guard f == 1, w == 2 else { return }
                    var tag = "", value: Float = 0
                    try Self.fields(valueBytes) { vf, vw, p in
                        if vf == 1, vw == 2 { tag = String(decoding: p, as: UTF8.self) }
                        if vf == 2, vw == 5 { value = Float(bitPattern: TFRecord.readLE(p, as: UInt32.self)) }
                    }
                    scalars.append((tag, value))
                }
            default: break
            }
        }
    }

    /// Walks the fields of one message. Varint payloads are handed over as 8 little-endian bytes.
    static func fields(_ b: [UInt8], _ body: (Int, Int, [UInt8]) throws -> Void) throws {
        var i = 0
        func readVarint() throws -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < b.count, shift < 64 else { throw DecodeError(description: "bad varint at byte \(i)") }
                let byte = b[i]; i += 1
                v |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return v }
                shift += 7
            }
        }
        while i < b.count {
            let key = try readVarint()
            let field = Int(key >> 3), wire = Int(key & 7)
            switch wire {
            case 0: try body(field, wire, TFRecord.littleEndian(try readVarint()))
            case 1, 5:
                let n = wire == 1 ? 8 : 4
                guard i + n <= b.count else { throw DecodeError(description: "truncated field \(field)") }
                try body(field, wire, Array(b[i..<i + n])); i += n
            case 2:
                let n = Int(try readVarint())
                guard n <= b.count - i else { throw DecodeError(description: "truncated field \(field)") }
                try body(field, wire, Array(b[i..<i + n])); i += n
            default: throw DecodeError(description: "unsupported wire type \(wire)")
            }
        }
    }
}
