// ShardedTests: SafeTensorsCollection over the Python-written sharded pair and its index,
// model-directory discovery, and the refusal of pickle checkpoints. Broken indexes are
// built in temp dirs from the good fixture.
// Leaves out: single-file validation (BadInputTests).
import Foundation
import Testing
import SafeTensors

@Suite struct ShardedTests {
    private let indexPath = Fixtures.path("sharded/model.safetensors.index.json")

    @Test func readsShardsAsOneCollection() throws {
        let c = try SafeTensorsCollection(index: indexPath)
        #expect(c.names == ["embed.weight", "layers.0.bias", "lm_head.weight"])
        #expect(c.files.count == 2)
        // 4x16 F32 + 3 F32 + 4x16 BF16 = 256 + 12 + 128 bytes, an integer in the index.
        #expect(c.metadata["total_size"] == "396")
        for (shard, spec) in Fixtures.expected.files where shard.hasPrefix("sharded/") {
            for (name, t) in spec.tensors {
                #expect(try c.file(containing: name).path.hasSuffix(shard))
                let tensor = try c.tensor(named: name)
                #expect(tensor.shape == t.shape)
                expectSameBits(tensor.scalars, t.f32_bits!, name)
            }
        }
        #expect(try c.entry(named: "lm_head.weight").dtype == .bf16)
        let e = expectError { _ = try c.tensor(named: "nope") }
        #expect(e == .tensorNotFound(path: indexPath, tensor: "nope"))
    }

    /// Copies the sharded fixture into a temp dir with the index replaced by `index`.
    private func shardedDir(index: String) -> TempDir {
        let dir = TempDir()
        for f in ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
            _ = dir.write(f, Fixtures.bytes("sharded/" + f))
        }
        _ = dir.write("model.safetensors.index.json", Array(index.utf8))
        return dir
    }

    @Test func missingShardIsNamed() {
        let dir = shardedDir(index: #"{"weight_map":{"embed.weight":"model-00001-of-00002.safetensors","extra":"model-00003-of-00003.safetensors"}}"#)
        defer { dir.cleanup() }
        let p = dir.path("model.safetensors.index.json")
        let e = expectError { _ = try SafeTensorsCollection(index: p) }
        #expect(e == .missingShard(index: p, tensor: "extra", shard: "model-00003-of-00003.safetensors"))
    }

    @Test func tensorMissingFromItsShardIsNamed() {
        let dir = shardedDir(index: #"{"weight_map":{"embed.weight":"model-00002-of-00002.safetensors"}}"#)
        defer { dir.cleanup() }
        let p = dir.path("model.safetensors.index.json")
        let e = expectError { _ = try SafeTensorsCollection(index: p) }
        #expect(e == .tensorMissingFromShard(index: p, tensor: "embed.weight", shard: "model-00002-of-00002.safetensors"))
        #expect(String(describing: e!).contains("does not contain it"))
    }

    @Test(arguments: [#"{"weight_map":{"a":"../../etc/passwd"}}"#, #"{"weight_map":{"a":"/etc/passwd"}}"#,
                      #"{"weight_map":{"a":3}}"#, #"{"metadata":{}}"#, "[]", "not json"])
    func malformedIndex(_ index: String) {
        let dir = shardedDir(index: index)
        defer { dir.cleanup() }
        let p = dir.path("model.safetensors.index.json")
        let e = expectError { _ = try SafeTensorsCollection(index: p) }
        guard case .invalidIndex(p, _)? = e else { Issue.record("got \(String(describing: e))"); return }
    }

    @Test func modelDirectoryFindsSingleFileFirstThenIndex() throws {
        let dir = shardedDir(index: String(decoding: Fixtures.bytes("sharded/model.safetensors.index.json"), as: UTF8.self))
        defer { dir.cleanup() }
        #expect(try ModelWeights.locate(in: dir.url.path) == .sharded(dir.path("model.safetensors.index.json")))
        #expect(try SafeTensorsCollection(modelDirectory: dir.url.path).names.count == 3)
        _ = dir.write("model.safetensors", Fixtures.bytes("f32.safetensors"))
        #expect(try ModelWeights.locate(in: dir.url.path) == .single(dir.path("model.safetensors")))
        #expect(try SafeTensorsCollection(modelDirectory: dir.url.path).names.count == 5)
    }

    @Test func picklesAreRefusedNeverOpened() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        // Contents that would fail to parse as anything: the refusal must not read them.
        _ = dir.write("pytorch_model.bin", [0x80, 0x02])
        _ = dir.write("training_args.pt", [0x80, 0x02])
        _ = dir.write("config.json", Array("{}".utf8))
        let e = expectError { _ = try SafeTensorsCollection(modelDirectory: dir.url.path) }
        #expect(e == .pickleCheckpoint(directory: dir.url.path, files: ["pytorch_model.bin", "training_args.pt"]))
        let text = String(describing: e!)
        #expect(text.contains("never loaded") && text.contains("save_pretrained") && text.contains("safe_serialization=True"))
        #expect(expectError { try ModelWeights.refusePickles(in: dir.url.path) } == e)

        // With safetensors present the pickles are ignored.
        _ = dir.write("model.safetensors", Fixtures.bytes("f32.safetensors"))
        try ModelWeights.refusePickles(in: dir.url.path)
        #expect(try SafeTensorsCollection(modelDirectory: dir.url.path).contains("w"))
    }

    @Test func emptyDirectoryHasNoWeights() {
        let dir = TempDir()
        defer { dir.cleanup() }
        _ = dir.write("config.json", Array("{}".utf8))
        let e = expectError { _ = try ModelWeights.locate(in: dir.url.path) }
        #expect(e == .noWeights(directory: dir.url.path, contents: ["config.json"]))
    }
}
