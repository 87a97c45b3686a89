// GGUF metadata sizes decide every allocation: each crafted value crashed the loader or
// tried to allocate terabytes before, and must now be an error naming the metadata key,
// raised before any weight is allocated; so must metadata the file's tensors do not back.
import Foundation
import GGUF
import Testing

@Suite struct GGUFSizeTests {
    enum KV { case u32(UInt32), u64(UInt64), i32(Int32), f32(Float), str(String) }

    static let base: [(String, KV)] = [
        ("general.architecture", .str("llama")), ("llama.embedding_length", .u32(8)), ("llama.attention.head_count", .u32(2)),
        ("llama.attention.head_count_kv", .u32(2)), ("llama.block_count", .u32(1)), ("llama.feed_forward_length", .u32(16)),
        ("llama.context_length", .u32(32)), ("llama.attention.layer_norm_rms_epsilon", .f32(1e-5)), ("llama.vocab_size", .u32(16)),
    ]

    /// A GGUF v3 file with `kv` metadata and zero-filled F32 tensors of the given shapes (outermost first).
    static func file(_ kv: [(String, KV)], tensors: [(String, [UInt64])] = []) -> [UInt8] {
        var b = GGUFBytes()
        b.bytes += Array("GGUF".utf8)
        b.u32(3); b.u64(UInt64(tensors.count)); b.u64(UInt64(kv.count))
        for (k, v) in kv {
            b.str(k)
            switch v {
            case .u32(let x): b.u32(4); b.u32(x)
            case .i32(let x): b.u32(5); b.u32(UInt32(bitPattern: x))
            case .f32(let x): b.u32(6); b.u32(x.bitPattern)
            case .str(let s): b.u32(8); b.str(s)
            case .u64(let x): b.u32(10); b.u64(x)
            }
        }
        var offset: UInt64 = 0, dataBytes = 0
        for (name, shape) in tensors {
            b.str(name); b.u32(UInt32(shape.count))
            for n in shape.reversed() { b.u64(n) }
            b.u32(0); b.u64(offset)
            let bytes = Int(shape.reduce(1, *)) * 4
            dataBytes += (bytes + 31) / 32 * 32
            offset += UInt64((bytes + 31) / 32 * 32)
        }
        b.pad(to: 32)
        b.bytes += [UInt8](repeating: 0, count: dataBytes)
        return b.bytes
    }

    func loadError(_ kv: [(String, KV)], tensors: [(String, [UInt64])] = []) throws -> String? {
        let dir = try Fixture.tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        let p = try GGUFBytes.write(Self.file(kv, tensors: tensors), name: "crafted.gguf", in: dir)
        do { _ = try GGUFModel.loadCausalLM(try GGUFFile(path: p)); return nil } catch { return "\(error)" }
    }

    static func with(_ key: String, _ v: KV) -> [(String, KV)] {
        base.contains { $0.0 == key } ? base.map { $0.0 == key ? (key, v) : $0 } : base + [(key, v)]
    }

    @Test func metadataSizesAreBounded() throws {
        let cases: [(String, KV)] = [
            ("llama.block_count", .u64(1 << 62)), ("llama.feed_forward_length", .u64(1 << 40)), ("llama.vocab_size", .u64(1 << 50)),
            ("llama.embedding_length", .u64(1 << 40)), ("llama.context_length", .u64(1 << 40)),
            ("llama.attention.key_length", .i32(-8)), ("llama.attention.head_count", .u64(1 << 40)),
            ("tokenizer.ggml.eos_token_id", .u64(1 << 40)),
        ]
        for (key, v) in cases {
            let e = try loadError(Self.with(key, v))
            #expect(e?.contains("crafted.gguf") == true && e?.contains("\"\(key)\"") == true, "\(key) = \(v): \(e ?? "loaded")")
        }
    }

    @Test func metadataMustMatchTheTensors() throws {
        // Sane sizes, but three blocks claimed and none present.
        let e = try loadError(Self.with("llama.block_count", .u32(3)), tensors: [("token_embd.weight", [16, 8])])
        #expect(e?.contains("\"llama.block_count\"") == true && e?.contains("tensors for 0 layers") == true, "\(e ?? "loaded")")
        // The embedding tensor disagrees with vocab_size.
        let v = try loadError(Self.with("llama.vocab_size", .u32(4000)), tensors: [("token_embd.weight", [16, 8])])
        #expect(v?.contains("\"llama.vocab_size\"") == true && v?.contains("16 rows") == true, "\(v ?? "loaded")")
    }
}
