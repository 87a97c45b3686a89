// Test support: fixture paths and JSON, a byte-level GGUF builder for malformed files made
// by hand (each field written where the spec puts it), and bit-exact float comparison
// that prints the first differing values.
import Foundation
import Testing

enum Fixture {
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// A fresh temporary directory, removed by the caller.
    static func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}

/// Builds GGUF bytes field by field (little-endian).
struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
    mutating func pad(to alignment: Int) { while bytes.count % alignment != 0 { bytes.append(0) } }

    /// Header + one uint32 metadata entry + tensor infos (name, F32-or-given type, ne, offset) + data.
    static func file(version: UInt32 = 3, tensors: [(name: String, ne: [UInt64], type: UInt32, offset: UInt64)],
                     data: [Float], extraKV: ((inout GGUFBytes) -> Int)? = nil) -> [UInt8] {
        var b = GGUFBytes()
        b.bytes += Array("GGUF".utf8)
        b.u32(version)
        b.u64(UInt64(tensors.count))
        var kv = GGUFBytes()
        let extra = extraKV?(&kv) ?? 0
        b.u64(UInt64(1 + extra))
        b.str("general.architecture"); b.u32(8); b.str("test")
        b.bytes += kv.bytes
        for t in tensors {
            b.str(t.name); b.u32(UInt32(t.ne.count))
            for n in t.ne { b.u64(n) }
            b.u32(t.type); b.u64(t.offset)
        }
        b.pad(to: 32)
        for x in data { b.u32(x.bitPattern) }
        return b.bytes
    }

    static func write(_ bytes: [UInt8], name: String, in dir: URL) throws -> String {
        let p = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }
}

/// Bit-exact equality (NaN == NaN), reporting the first differences and the max difference.
func expectBitExact(_ got: [Float], _ want: [Float], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(label): \(got.count) values, expected \(want.count)", sourceLocation: sourceLocation)
    var diffs: [String] = [], maxDiff: Float = 0
    for (i, (g, w)) in zip(got, want).enumerated() where !(g.bitPattern == w.bitPattern || (g.isNaN && w.isNaN)) {
        if diffs.count < 5 { diffs.append("[\(i)] \(g) vs \(w)") }
        maxDiff = max(maxDiff, abs(g - w))
    }
    #expect(diffs.isEmpty, "\(label): first differences \(diffs.joined(separator: ", ")); max |diff| \(maxDiff)", sourceLocation: sourceLocation)
}

/// Elementwise closeness with the worst element reported.
func expectClose(_ got: [Float], _ want: [Float], atol: Float, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(label): \(got.count) values, expected \(want.count)", sourceLocation: sourceLocation)
    var worst = (i: -1, d: Float(0))
    for (i, (g, w)) in zip(got, want).enumerated() where abs(g - w) > worst.d || g.isNaN { worst = (i, g.isNaN ? .infinity : abs(g - w)) }
    #expect(worst.d <= atol, "\(label): max |diff| \(worst.d) at [\(worst.i)]: \(worst.i >= 0 ? "\(got[worst.i]) vs \(want[worst.i])" : "")", sourceLocation: sourceLocation)
}
