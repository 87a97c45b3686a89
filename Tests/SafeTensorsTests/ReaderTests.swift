// ReaderTests: SafeTensorsFile against files written by Python's safetensors: values of
// F32/F16/BF16/F64 after conversion, integers, names, shapes, dtypes, metadata; plus the
// F16/BF16 decoders checked exhaustively against a plain IEEE formula (their naive twin).
// Leaves out: corrupt files (BadInputTests) and sharding (ShardedTests).
import Foundation
import Testing
import TensorCore
import SafeTensors

@Suite struct ReaderTests {
    @Test(arguments: ["f32.safetensors", "f16.safetensors", "bf16.safetensors", "mixed.safetensors"])
    func readsPythonFixture(_ name: String) throws {
        let file = try SafeTensorsFile(path: Fixtures.path(name))
        let spec = Fixtures.expected.files[name]!
        #expect(file.metadata == spec.metadata)
        #expect(Set(file.names) == Set(spec.tensors.keys))
        for (tensorName, t) in spec.tensors {
            let entry = try file.entry(named: tensorName)
            #expect(entry.shape == t.shape, "\(tensorName)")
            if let bits = t.f32_bits {
                let tensor = try file.tensor(named: tensorName)
                #expect(tensor.shape == t.shape)
                expectSameBits(tensor.scalars, bits, "\(name) \(tensorName)")
            } else {
                #expect(try file.integers(named: tensorName) == t.ints!, "\(tensorName)")
            }
        }
    }

    @Test func listsDTypesInDataOrder() throws {
        // Python lays tensors out by descending dtype alignment, then name.
        let file = try SafeTensorsFile(path: Fixtures.path("mixed.safetensors"))
        #expect(file.entries.map(\.name) == ["i64", "f64", "f32", "i32", "bf16", "f16"])
        #expect(file.entries.map(\.dtype) == [.i64, .f64, .f32, .i32, .bf16, .f16])
        #expect(try file.entry(named: "i32").shape == [1, 2])
        #expect(file.names == ["bf16", "f16", "f32", "f64", "i32", "i64"])
    }

    @Test func namesAreInByteOrder() throws {
        let file = try SafeTensorsFile(path: Fixtures.path("f32.safetensors"))
        #expect(file.names == ["Zed", "b", "empty", "model.layers.0.big", "w"])
        #expect(try file.tensor(named: "Zed").shape == [])
        #expect(try file.tensor(named: "empty").count == 0)
    }

    @Test func integerTensorsAreNotSilentlyFloats() throws {
        let file = try SafeTensorsFile(path: Fixtures.path("mixed.safetensors"))
        let e = expectError { _ = try file.tensor(named: "i64") }
        #expect(e == .unsupportedConversion(path: file.path, tensor: "i64", dtype: "I64", detail: "integer tensors are read with integers(named:)"))
        let f = expectError { _ = try file.integers(named: "f32") }
        guard case .unsupportedConversion(_, "f32", "F32", _)? = f else { Issue.record("got \(String(describing: f))"); return }
    }

    @Test func unknownNameIsAnError() throws {
        let file = try SafeTensorsFile(path: Fixtures.path("f32.safetensors"))
        let e = expectError { _ = try file.tensor(named: "nope") }
        #expect(e == .tensorNotFound(path: file.path, tensor: "nope"))
        #expect(String(describing: e!).contains("f32.safetensors"))
    }

    @Test func rawBytesAreZeroCopyView() throws {
        let file = try SafeTensorsFile(path: Fixtures.path("mixed.safetensors"))
        let bytes = try file.withRawBytes(named: "i32") { Array($0) }
        #expect(bytes == [0xFB, 0xFF, 0xFF, 0xFF, 6, 0, 0, 0])  // -5, 6 little-endian
    }

    /// Every one of the 65536 F16 patterns, decoded by the reader and by the formula.
    @Test func float16DecodingIsExhaustivelyExact() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let data = (0..<65536).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let p = dir.write("h.safetensors", rawFile(header: #"{"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}}"#, data: data))
        let got = try SafeTensorsFile(path: p).tensor(named: "h").scalars
        expectSameBits(got, (0..<65536).map { naiveHalf(UInt16($0)).bitPattern }, "F16")
    }

    @Test func bfloat16DecodingIsExhaustivelyExact() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let data = (0..<65536).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        // One leading byte tensor forces the BF16 data to an odd (unaligned) address.
        let p = dir.write("b.safetensors", rawFile(header: #"{"pad":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"BF16","shape":[65536],"data_offsets":[1,131073]}}"#, data: [7] + data))
        let got = try SafeTensorsFile(path: p).tensor(named: "b").scalars
        expectSameBits(got, (0..<65536).map { naiveBFloat16(UInt16($0)).bitPattern }, "BF16")
    }

    /// IEEE binary16 by its definition: (-1)^s x 2^(e-15) x 1.m, subnormals 2^-24 x m.
    private func naiveHalf(_ h: UInt16) -> Float {
        let sign: FloatingPointSign = h & 0x8000 != 0 ? .minus : .plus
        let e = Int((h >> 10) & 0x1F), m = Float(h & 0x3FF)
        if e == 31 { return m == 0 ? (sign == .minus ? -.infinity : .infinity) : .nan }
        if e == 0 { return Float(sign: sign, exponent: -24, significand: m) }
        return Float(sign: sign, exponent: e - 15, significand: 1 + m / 1024)
    }

    /// bfloat16: 8 exponent bits (bias 127), 7 mantissa bits.
    private func naiveBFloat16(_ h: UInt16) -> Float {
        let sign: FloatingPointSign = h & 0x8000 != 0 ? .minus : .plus
        let e = Int((h >> 7) & 0xFF), m = Float(h & 0x7F)
        if e == 255 { return m == 0 ? (sign == .minus ? -.infinity : .infinity) : .nan }
        if e == 0 { return Float(sign: sign, exponent: -133, significand: m) }
        return Float(sign: sign, exponent: e - 127, significand: 1 + m / 128)
    }
}
