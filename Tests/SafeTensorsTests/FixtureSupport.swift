// FixtureSupport: locating the Python-written fixtures, decoding expected.json, temp
// directories, and raw-file builders for the corrupt-input tests. Test helpers only.
// Leaves out: any test (see *Tests.swift); regenerate fixtures with
// `python Reference/make_safetensors_fixtures.py` (from the repository root).
import Foundation
import Testing
import TensorCore
import SafeTensors

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path(name))!) }

    struct TensorSpec: Decodable {
        let dtype: String
        let shape: [Int]
        let f32_bits: [UInt32]?
        let ints: [Int64]?
    }
    struct FileSpec: Decodable {
        let metadata: [String: String]
        let tensors: [String: TensorSpec]
    }
    struct Expected: Decodable {
        let files: [String: FileSpec]
        let headers: [String: String]
    }

    static let expected: Expected = {
        let data = FileManager.default.contents(atPath: path("expected.json"))!
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()

    /// The F32 source tensors every float fixture was cast from, in Python's dict order.
    static func sourceTensors() -> [(name: String, tensor: Tensor)] {
        let spec = expected.files["f32.safetensors"]!.tensors
        return ["w", "b", "Zed", "empty", "model.layers.0.big"].map { name in
            let s = spec[name]!
            return (name, try! Tensor(shape: s.shape, data: s.f32_bits!.map(Float.init(bitPattern:))))
        }
    }
}

/// Compares bit patterns so -0, infinities and subnormals count; any NaN matches any NaN.
/// On failure, reports the first differing element and the count of differences.
func expectSameBits(_ actual: [Float], _ expectedBits: [UInt32], _ label: String,
                    sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expectedBits.count, "\(label): \(actual.count) elements, expected \(expectedBits.count)", sourceLocation: sourceLocation)
    var differing = 0
    var first: String?
    for (i, (a, b)) in zip(actual, expectedBits).enumerated() {
        let e = Float(bitPattern: b)
        if a.bitPattern == b || (a.isNaN && e.isNaN) { continue }
        differing += 1
        if first == nil { first = "[\(i)] = \(a) (0x\(String(a.bitPattern, radix: 16))), expected \(e) (0x\(String(b, radix: 16)))" }
    }
    #expect(differing == 0, "\(label): \(differing) elements differ; first \(first ?? "")", sourceLocation: sourceLocation)
}

/// A fresh directory under the system temp dir, removed by `cleanup()`.
struct TempDir {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let p = path(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// A safetensors file from a literal header and data; `length` overrides the prefix.
func rawFile(header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    var out = withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian) { Array($0) }
    out += h
    out += data
    return out
}

/// Runs `body`, which must throw a SafeTensorsError; returns it (nil after recording an
/// issue if it did not throw).
func expectError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> SafeTensorsError? {
    do {
        try body()
        Issue.record("expected a SafeTensorsError, but no error was thrown", sourceLocation: sourceLocation)
    } catch let error as SafeTensorsError {
        return error
    } catch {
        Issue.record("expected a SafeTensorsError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
