// WriterTests: SafeTensorsWriter output is byte-identical to `safetensors.torch.save_file`
// for the same tensors (F32, F16, BF16), round-trips bit-exactly, replaces files
// atomically, and rejects tensors it cannot write.
// Leaves out: reading Python fixtures for their values (ReaderTests).
import Foundation
import Testing
import TensorCore
import SafeTensors

@Suite struct WriterTests {
    @Test(arguments: [("f32.safetensors", SafeTensorsDType.f32), ("f16.safetensors", .f16), ("bf16.safetensors", .bf16)])
    func byteIdenticalToPython(_ fixture: String, _ dtype: SafeTensorsDType) throws {
        let ours = try SafeTensorsWriter.serialize(Fixtures.sourceTensors(), metadata: ["format": "pt"], dtype: dtype)
        let theirs = Fixtures.bytes(fixture)
        if ours != theirs {
            // Show the headers side by side: most mismatches are there.
            let n = Int(theirs[0]) | Int(theirs[1]) << 8
            let ourHeader = String(decoding: ours.dropFirst(8).prefix(n), as: UTF8.self)
            let firstDiff = zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            Issue.record("\(fixture): \(ours.count) vs \(theirs.count) bytes, first difference at byte \(String(describing: firstDiff))\nours:   \(ourHeader)\npython: \(Fixtures.expected.headers[fixture]!)")
        }
    }

    @Test func writeToDiskMatchesSerialize() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        for dtype in SafeTensorsWriter.writableDTypes {
            let p = dir.path("m-\(dtype.rawValue).safetensors")
            try SafeTensorsWriter.write(Fixtures.sourceTensors(), to: p, metadata: ["format": "pt"], dtype: dtype)
            let disk = Array(FileManager.default.contents(atPath: p)!)
            #expect(disk == (try SafeTensorsWriter.serialize(Fixtures.sourceTensors(), metadata: ["format": "pt"], dtype: dtype)))
        }
        // Only the finished files remain: no temp file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted() ==
                ["m-BF16.safetensors", "m-F16.safetensors", "m-F32.safetensors"])
    }

    @Test func roundTripIsBitIdentical() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var rng = SplitMix64(seed: 42)
        // Random bit patterns reach every exponent, subnormals, infinities and NaNs.
        let tensors: [(name: String, tensor: Tensor)] = [
            ("a.weight", try Tensor(shape: [3, 70_001], data: (0..<210_003).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) })),
            ("a.bias", try Tensor(shape: [5], data: [0, -0, 1, -1, .pi])),
            ("scalar", Tensor(scalar: 2)),
        ]
        let p = dir.path("rt.safetensors")
        try SafeTensorsWriter.write(tensors, to: p, metadata: ["k\"ey\n": "välue/\u{1}"])
        let file = try SafeTensorsFile(path: p)
        #expect(file.metadata == ["k\"ey\n": "välue/\u{1}"])
        for (name, t) in tensors {
            let back = try file.tensor(named: name)
            #expect(back.shape == t.shape)
            #expect(back.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern), "\(name)")
        }
        // F16 and BF16 read back as the rounded values.
        let x = tensors[0].tensor.scalars
        for dtype in [SafeTensorsDType.f16, .bf16] {
            try SafeTensorsWriter.write(tensors, to: p, dtype: dtype)
            let back = try SafeTensorsFile(path: p).tensor(named: "a.weight").scalars
            let want = x.map { dtype == .f16 ? Float(Float16($0)) : naiveBFloat16Round($0) }
            expectSameBits(back, want.map(\.bitPattern), "\(dtype.rawValue) round trip")
        }
    }

    @Test func replacesExistingFile() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let p = dir.write("x.safetensors", Array("not a safetensors file".utf8))
        try SafeTensorsWriter.write([("t", Tensor(scalar: 1))], to: p)
        #expect(try SafeTensorsFile(path: p).tensor(named: "t").item == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == ["x.safetensors"])
    }

    @Test func emptyAndMetadataFreeHeadersMatchTheRustCrate() throws {
        // The Rust crate's own tests: `{}` padded to 8, and `{"__metadata__":{"framework":"pt"}}`.
        #expect(try SafeTensorsWriter.serialize([]) == [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        let m = try SafeTensorsWriter.serialize([], metadata: ["framework": "pt"])
        #expect(m == [40, 0, 0, 0, 0, 0, 0, 0] + Array(#"{"__metadata__":{"framework":"pt"}}     "#.utf8))
    }

    @Test func rejectsWhatItCannotWrite() {
        let t = Tensor(scalar: 1)
        #expect(expectError { _ = try SafeTensorsWriter.serialize([("a", t), ("a", t)]) } ==
                .invalidWrite(path: "<memory>", tensor: "a", detail: "the name appears twice"))
        #expect(expectError { _ = try SafeTensorsWriter.serialize([("__metadata__", t)]) } ==
                .invalidWrite(path: "<memory>", tensor: "__metadata__", detail: "the name is reserved for the metadata map"))
        let e = expectError { _ = try SafeTensorsWriter.serialize([("a", t)], dtype: .i64) }
        guard case .invalidWrite? = e else { Issue.record("got \(String(describing: e))"); return }
        let io = expectError { try SafeTensorsWriter.write([("a", t)], to: "/nonexistent-dir-\(UUID())/x.safetensors") }
        guard case .io? = io else { Issue.record("got \(String(describing: io))"); return }
    }

    /// BF16 rounding by arithmetic, not bits: the nearest of the two neighbouring BF16
    /// values, ties to the one with an even last mantissa bit.
    private func naiveBFloat16Round(_ x: Float) -> Float {
        if x.isNaN || x.isInfinite { return x.isNaN ? .nan : x }
        let towardZero = Float(bitPattern: x.bitPattern & 0xFFFF_0000)
        let awayBits = (x.bitPattern & 0xFFFF_0000) &+ 0x1_0000
        // Past the largest BF16 the next step up is 2^128, which rounds to infinity.
        let away = Float(bitPattern: awayBits)
        let awayValue = away.isInfinite ? (x < 0 ? -0x1p128 : 0x1p128) : Double(away)
        let dToward = abs(Double(x) - Double(towardZero)), dAway = abs(awayValue - Double(x))
        if dToward < dAway { return towardZero }
        if dAway < dToward { return away }
        return (towardZero.bitPattern >> 16) & 1 == 0 ? towardZero : away
    }
}

/// SplitMix64: a tiny seeded generator so test data is reproducible without TensorCore's RNG.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
