// Tiny llama (q/k permuted by the converter, untied head) and qwen2 (biases, tied) GGUF
// files against transformers' logits on the original weights; the permutation undone
// exactly; and `GGUFConverter` writing a directory that loads back to the same logits.
import Foundation
import GGUF
import Models
import RLHF
import TensorCore
import Testing
import Tokenizers

@Suite struct GGUFModelTests {
    func logits(_ model: CausalLM, _ ids: [Int]) throws -> [Float] {
        try model(TokenBatch(ids: ids.map(Int32.init), batch: 1, time: ids.count)).value.scalars
    }

    @Test(arguments: ["llama", "qwen2"]) func logitsMatchTransformers(_ arch: String) throws {
        let expected = try Fixture.json("tiny_expected.json")[arch] as! [String: Any]
        let ids = expected["ids"] as! [Int]
        let want = (expected["logits"] as! [[Double]]).flatMap { $0.map(Float.init) }
        let g = try GGUFModel(path: Fixture.path("tiny_\(arch).gguf"))
        let c = g.model.config
        #expect(c.modelType == arch && c.layers == 2 && c.heads == 4 && c.kvHeads == 2 && c.hiddenSize == 32)
        #expect(c.tiedEmbeddings == (arch == "qwen2") && c.qkvBias == (arch == "qwen2"))
        expectClose(try logits(g.model, ids), want, atol: 2e-4, "\(arch) logits")
        #expect(g.eosTokenIds == [2])
    }

    @Test func unpermuteInvertsTheConverter() {
        // convert_hf_to_gguf: w.reshape(h, 2, d/2, C).swapaxes(1, 2): stored row h*d + 2i + j
        // holds original row h*d + j*d/2 + i. Rows labelled by their original index.
        let heads = 2, headDim = 6, cols = 3
        let original = (0..<(heads * headDim * cols)).map { Float($0 / cols) }
        var stored = [Float](repeating: -1, count: original.count)
        for h in 0..<heads { for i in 0..<(headDim / 2) { for j in 0..<2 { for c in 0..<cols {
            stored[(h * headDim + 2 * i + j) * cols + c] = original[(h * headDim + j * headDim / 2 + i) * cols + c]
        } } } }
        #expect(Array(stored.prefix(6 * cols)).enumerated().filter { $0.offset % cols == 0 }.map(\.element) == [0, 3, 1, 4, 2, 5])
        #expect(GGUFWeightMap.unpermuteRows(stored, heads: heads, rowLength: cols) == original)
        #expect(GGUFWeightMap.permutesQK(architecture: "llama") && !GGUFWeightMap.permutesQK(architecture: "qwen2"))
    }

    @Test func nameBorder() {
        #expect(GGUFWeightMap.ggufName("trunk.tokenEmbedding.weight") == "token_embd.weight")
        #expect(GGUFWeightMap.ggufName("trunk.blocks.7.o.weight") == "blk.7.attn_output.weight")
        #expect(GGUFWeightMap.ggufName("trunk.blocks.0.q.bias") == "blk.0.attn_q.bias")
        #expect(GGUFWeightMap.ggufName("lmHead.weight") == "output.weight")
        #expect(GGUFWeightMap.ggufName("trunk.finalNorm.weight") == "output_norm.weight")
        #expect(GGUFWeightMap.ggufName("score.weight") == nil)
    }

    @Test func convertWritesALoadableDirectory() throws {
        let dir = try Fixture.tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("tiny-llama").path
        try GGUFConverter.convert(gguf: Fixture.path("tiny_llama.gguf"), to: out)
        for name in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "missing \(name)")
        }
        let bundle = try ModelBundle(directory: out)
        let g = try GGUFModel(path: Fixture.path("tiny_llama.gguf"))
        let ids = [5, 17, 42, 99]
        #expect(try logits(bundle.model, ids) == logits(g.model, ids))
        #expect(bundle.eosTokenIds == [2])
        let text = "Hello world! It's 2024."
        #expect(bundle.tokenizer.encode(text) == g.tokenizer.encode(text))
        let chat = [ChatMessage(role: "user", content: "Hi")]
        #expect(try bundle.tokenizer.encodeChat(chat, addGenerationPrompt: true) == g.tokenizer.encodeChat(chat, addGenerationPrompt: true))
    }

    @Test func modelBundleAcceptsAGGUFPath() throws {
        let bundle = try ModelBundle(directory: Fixture.path("tiny_qwen2.gguf"))
        #expect(bundle.model.config.modelType == "qwen2")
        #expect(bundle.eosTokenIds == [2] && bundle.padTokenId == 0)
    }

    @Test func unsupportedArchitectureIsNamed() throws {
        let dir = try Fixture.tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixture.path("tiny_qwen2.gguf"))))
        // Overwrite the architecture string value "qwen2" with "qwen3" (same length).
        let needle = Array("general.architecture".utf8)
        let at = (0..<(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle }!
        bytes[at + needle.count + 4 + 8 + 4] = UInt8(ascii: "3")
        let p = try GGUFBytes.write(bytes, name: "q3.gguf", in: dir)
        do { _ = try GGUFModel(path: p); Issue.record("no error") } catch {
            #expect("\(error)".contains("q3.gguf") && "\(error)".contains("architecture \"qwen3\""))
        }
    }
}
