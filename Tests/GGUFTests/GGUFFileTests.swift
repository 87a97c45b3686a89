// The GGUF container: metadata of every value type, alignment and padding, tensor shapes
// and data, v2 == v3, and malformed files (bad magic, truncation, unknown or unsupported
// types, data out of range, misalignment) failing with errors that name file and tensor.
import Foundation
import GGUF
import Testing

@Suite struct GGUFFileTests {
    @Test func metadataOfEveryType() throws {
        let f = try GGUFFile(path: Fixture.path("metadata.gguf"))
        #expect(f.version == 3)
        let m = f.metadata
        #expect(m["t.u8"] == .uint8(200))
        #expect(m["t.i8"] == .int8(-100))
        #expect(m["t.u16"] == .uint16(60000))
        #expect(m["t.i16"] == .int16(-30000))
        #expect(m["t.u32"] == .uint32(4_000_000_000))
        #expect(m["t.i32"] == .int32(-2_000_000_000))
        #expect(m["t.f32"] == .float32(1.5))
        #expect(m["t.u64"] == .uint64(1 << 63 + 5))
        #expect(m["t.i64"] == .int64(-(1 << 62)))
        #expect(m["t.f64"] == .float64(0.1))
        #expect(m["t.bool"] == .bool(true))
        #expect(m["t.str"] == .string("h\u{e9}llo \u{2713}"))
        #expect(m["t.arr_u8"] == .array(.uint8, [.uint8(1), .uint8(2), .uint8(255)]))
        #expect(m["t.arr_i16"] == .array(.int16, [.int16(-1), .int16(2)]))
        #expect(try f.metadata.intArray("t.arr_i32") == [-5, 0, 7])
        #expect(m["t.arr_f32"] == .array(.float32, [.float32(0.5), .float32(-2.25)]))
        #expect(m["t.arr_f64"] == .array(.float64, [.float64(1e300)]))
        #expect(m["t.arr_bool"] == .array(.bool, [.bool(true), .bool(false), .bool(true)]))
        #expect(try f.metadata.stringArray("t.arr_str") == ["a", "", "\u{fc} b"])
        #expect(m["t.arr_u64"] == .array(.uint64, [.uint64(.max)]))
        #expect(m["t.nested"] == .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.int32, [.int32(3)])]))
        #expect(m["t.u64"]?.int == nil)                  // above Int.max
        #expect(m["t.i8"]?.double == -100)
        #expect(f.metadataKeys.first == "general.architecture" && f.metadataKeys.count == 23)
        // Wrong-type access names the key.
        #expect(throws: GGUFError.self) { try f.metadata.string("t.u8") }
        do { _ = try f.metadata.string("t.u8") } catch { #expect(error.description.contains("t.u8") && error.description.contains("uint8")) }
    }

    @Test func alignmentAndTensors() throws {
        let f = try GGUFFile(path: Fixture.path("metadata.gguf"))
        #expect(f.alignment == 64)
        #expect(f.dataOffset % 64 == 0)
        #expect(f.tensors.map(\.name) == ["a", "b", "c"])
        for t in f.tensors { #expect((t.fileOffset - f.dataOffset) % 64 == 0, "\(t.name) at \(t.fileOffset)") }
        #expect(try f.tensor(named: "a").scalars == [0, 1, 2])
        let b = try f.tensor(named: "b")
        #expect(b.shape == [2, 3, 4, 5])
        #expect(b.scalars == (0..<120).map { Float($0) / 8 })
        let c = try f.tensor(named: "c")
        #expect(c.shape == [2, 3] && c.scalars == [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
        do { _ = try f.tensor(named: "zzz"); Issue.record("no error") } catch { #expect(error.description.contains("\"zzz\"")) }
    }

    @Test func version2ReadsLikeVersion3() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixture.path("metadata.gguf"))))
        bytes[4] = 2
        let dir = try Fixture.tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        let f2 = try GGUFFile(path: try GGUFBytes.write(bytes, name: "v2.gguf", in: dir))
        let f3 = try GGUFFile(path: Fixture.path("metadata.gguf"))
        #expect(f2.version == 2)
        #expect(f2.metadata.values == f3.metadata.values && f2.tensors.map(\.shape) == f3.tensors.map(\.shape))
        #expect(try f2.tensor(named: "b").scalars == f3.tensor(named: "b").scalars)
    }

    @Test func handBuiltFileWithEmptyArray() throws {
        let dir = try Fixture.tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = GGUFBytes.file(tensors: [("w", [2, 2], 0, 0)], data: [1, 2, 3, 4]) { kv in
            kv.str("empty"); kv.u32(9); kv.u32(5); kv.u64(0)
            return 1
        }
        let f = try GGUFFile(path: try GGUFBytes.write(bytes, name: "ok.gguf", in: dir))
        #expect(f.metadata["empty"] == .array(.int32, []))
        #expect(try f.tensor(named: "w").scalars == [1, 2, 3, 4])
    }

    /// The error thrown opening (or reading tensor "w" of) `bytes`, as text.
    func failure(_ bytes: [UInt8], readTensor: Bool = false) throws -> String {
        let dir = try Fixture.tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        let p = try GGUFBytes.write(bytes, name: "bad.gguf", in: dir)
        do {
            let f = try GGUFFile(path: p)
            if readTensor { _ = try f.tensor(named: "w") }
        } catch {
            #expect(error.description.contains("bad.gguf"), "error does not name the file: \(error)")
            return error.description
        }
        Issue.record("no error for a bad file")
        return ""
    }

    @Test func badMagic() throws {
        var bytes = GGUFBytes.file(tensors: [], data: [])
        bytes[3] = UInt8(ascii: "X")
        #expect(try failure(bytes).contains("bad magic \"GGUX\""))
        #expect(try failure([0x47, 0x47]).contains("truncated"))
    }

    @Test func truncatedAnywhere() throws {
        let full = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixture.path("metadata.gguf"))))
        let c = try #require(GGUFFile(path: Fixture.path("metadata.gguf")).info("c"))
        for cut in [6, 20, 60, 200, 700] {
            let msg = try failure(Array(full[0..<cut]))
            #expect(msg.contains("truncated") || msg.contains("out of range"), "cut \(cut): \(msg)")
        }
        // Cut inside the last tensor's data: it is named.
        let msg = try failure(Array(full[0..<(c.fileOffset + c.byteCount - 1)]))
        #expect(msg.contains("tensor \"c\"") && msg.contains("out of range"), "\(msg)")
    }

    @Test func unknownAndUnsupportedTypes() throws {
        let unknown = try failure(GGUFBytes.file(tensors: [("w", [32], 99, 0)], data: [Float](repeating: 0, count: 32)))
        #expect(unknown.contains("tensor \"w\"") && unknown.contains("unknown tensor type id 99"))
        // Q2_K (10) is a known type we do not dequantize: the file opens, the read fails.
        let q2 = try failure(GGUFBytes.file(tensors: [("w", [256], 10, 0)], data: [Float](repeating: 0, count: 21)), readTensor: true)
        #expect(q2.contains("tensor \"w\"") && q2.contains("Q2_K"))
    }

    @Test func dataOutOfRangeAndMisaligned() throws {
        let far = try failure(GGUFBytes.file(tensors: [("w", [4], 0, 1 << 20)], data: [1, 2, 3, 4]))
        #expect(far.contains("tensor \"w\"") && far.contains("out of range"))
        let tooBig = try failure(GGUFBytes.file(tensors: [("w", [5], 0, 0)], data: [1, 2, 3, 4]))
        #expect(tooBig.contains("tensor \"w\"") && tooBig.contains("out of range"))
        let misaligned = try failure(GGUFBytes.file(tensors: [("w", [2], 0, 4)], data: [1, 2, 3, 4]))
        #expect(misaligned.contains("tensor \"w\"") && misaligned.contains("alignment"))
        let badRow = try failure(GGUFBytes.file(tensors: [("w", [33], 8, 0)], data: [Float](repeating: 0, count: 20)))
        #expect(badRow.contains("tensor \"w\"") && badRow.contains("block size 32"))
    }

    @Test func versionsAndCounts() throws {
        #expect(try failure(GGUFBytes.file(version: 1, tensors: [], data: [])).contains("version 1"))
        #expect(try failure(GGUFBytes.file(version: 3 << 24, tensors: [], data: [])).contains("big-endian"))
        var huge = GGUFBytes.file(tensors: [], data: [])
        huge.replaceSubrange(8..<16, with: [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])   // tensor count 2^32 - 1
        #expect(try failure(huge).contains("tensor count"))
    }
}
