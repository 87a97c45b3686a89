// Dequantization of every supported type against gguf-py's `gguf.quants.dequantize`, bit
// for bit (quants.gguf holds each tensor next to its expected Float32 values), and the
// threaded path against the plain loop.
import Foundation
import GGUF
import Testing

@Suite struct GGUFDequantizeTests {
    static let types = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"]

    @Test(arguments: types) func matchesGGUFPy(_ name: String) throws {
        let f = try GGUFFile(path: Fixture.path("quants.gguf"))
        let info = try #require(f.info(name))
        #expect(info.type.description.lowercased() == name)
        let got = try f.tensor(named: name), want = try f.tensor(named: name + ".expected")
        #expect(got.shape == want.shape)
        expectBitExact(got.scalars, want.scalars, name)
    }

    @Test func shapesAreOutermostFirst() throws {
        let f = try GGUFFile(path: Fixture.path("quants.gguf"))
        #expect(f.info("q8_0")?.shape == [3, 2, 64])        // numpy (3, 2, 64); GGUF ne = [64, 2, 3]
        #expect(f.info("q4_k")?.shape == [2, 256])
        #expect(f.info("q4_k")?.byteCount == 2 * 144)
    }

    @Test func threadedEqualsPlainLoop() throws {
        // 4096 blocks of random bytes with finite scales: many chunks for the pool.
        for type in [GGMLType.q4_1, .q6_K, .q5_K] {
            let (elems, bytes) = type.blockLayout
            let blocks = 4096
            var raw = [UInt8](repeating: 0, count: blocks * bytes)
            var state: UInt64 = 0x9E3779B97F4A7C15
            for i in raw.indices { state = state &* 6364136223846793005 &+ 1442695040888963407; raw[i] = UInt8(truncatingIfNeeded: state >> 33) }
            for b in 0..<blocks {   // scales: f16 0.01 (0x211f) wherever the layout keeps them
                let at = type == .q6_K ? [b * bytes + 208] : [b * bytes, b * bytes + 2]
                for o in at { raw[o] = 0x1f; raw[o + 1] = 0x21 }
            }
            var serial = [Float](repeating: 0, count: blocks * elems), threaded = serial
            raw.withUnsafeBytes { src in
                serial.withUnsafeMutableBufferPointer { GGUFDequantize.decode(type, src.baseAddress!, count: blocks * elems, into: $0.baseAddress!) }
                threaded.withUnsafeMutableBufferPointer { GGUFDequantize.decodeParallel(type, src.baseAddress!, count: blocks * elems, into: $0.baseAddress!) }
            }
            expectBitExact(threaded, serial, "\(type)")
        }
    }

    @Test func handDerivedQ8_0Block() throws {
        // d = 0.5 (f16 0x3800), q = -3, 0, 127, ...: x = q * d.
        var block: [UInt8] = [0x00, 0x38] + [UInt8](repeating: 0, count: 32)
        block[2] = UInt8(bitPattern: -3); block[4] = 127
        var out = [Float](repeating: .nan, count: 32)
        block.withUnsafeBytes { s in out.withUnsafeMutableBufferPointer { GGUFDequantize.decode(.q8_0, s.baseAddress!, count: 32, into: $0.baseAddress!) } }
        #expect(Array(out[0..<3]) == [-1.5, 0, 63.5])
    }
}
