// Sizes in config.json decide every allocation: each crafted value below crashed the
// loader or sized terabytes before, and must now be an error naming the key, raised
// before any weight exists. The second half checks the config against the tensors in
// model.safetensors (layer count, embedding shape, total values) before allocating.
import Foundation
import Models
import NN
import TensorCore
import Testing

@Suite struct ConfigSizeTests {
    func parseError(_ fixture: String, _ key: String, _ value: Any) -> String? {
        let url = URL(fileURLWithPath: fixtureDir(fixture) + "/config.json")
        var d = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        d[key] = value
        do { _ = try TransformerConfig.parse(d, file: "crafted/config.json"); return nil } catch { return "\(error)" }
    }

    @Test func llamaSizesAreBounded() {
        let cases: [(String, Any)] = [
            ("num_key_value_heads", 0), ("num_key_value_heads", -2), ("head_dim", -8), ("head_dim", 7),
            ("num_hidden_layers", 1e9), ("num_hidden_layers", 1e30), ("hidden_size", 1 << 40), ("vocab_size", 1 << 50),
            ("intermediate_size", 1 << 40), ("max_position_embeddings", 1 << 40), ("num_attention_heads", 1 << 40),
            ("eos_token_id", 1e30), ("eos_token_id", 97), ("bos_token_id", -5), ("pad_token_id", 1 << 40),
        ]
        for (key, value) in cases {
            let e = parseError("llama", key, value)
            #expect(e?.contains("crafted/config.json") == true && e?.contains("\"\(key)\"") == true,
                    "\(key) = \(value): \(e ?? "accepted")")
        }
    }

    @Test func gpt2SizesAreBounded() {
        let cases: [(String, Any)] = [("n_embd", 1 << 40), ("n_layer", 1e9), ("n_positions", 1 << 40), ("n_inner", -1),
                                      ("vocab_size", 1 << 50)]
        for (key, value) in cases {
            let e = parseError("gpt2", key, value)
            #expect(e?.contains("\"\(key)\"") == true, "\(key) = \(value): \(e ?? "accepted")")
        }
    }

    /// The count the checkpoint check relies on equals what the model allocates (its trunk).
    @Test func trunkParameterCountMatchesTheModel() {
        var gpt2 = TransformerConfig.gpt2(vocabSize: 50, hiddenSize: 16, layers: 3, heads: 2, maxPositions: 24)
        gpt2.intermediateSize = 40
        var biased = TransformerConfig.llama(vocabSize: 40, hiddenSize: 12, layers: 2, heads: 3, kvHeads: 1, intermediateSize: 20,
                                             maxPositions: 16, tiedEmbeddings: false)
        biased.qkvBias = true; biased.outputBias = true; biased.mlpBias = true
        for config in [gpt2, .llama(vocabSize: 40, hiddenSize: 12, layers: 2, heads: 3, kvHeads: 1, intermediateSize: 20, maxPositions: 16),
                       biased] {
            var initializer = WeightInit.placeholder
            let trunk = CausalLM(config: config, initializer: &initializer).trunk
            var allocated = 0
            trunk.visitParameters(prefix: "") { _, p in allocated += p.value.shape.reduce(1, *) }
            #expect(config.trunkParameterCount == allocated,
                    "\(config.modelType): counted \(config.trunkParameterCount), allocated \(allocated)")
        }
    }

    /// Sizes within the limits that the checkpoint does not back: refused before allocating.
    @Test func configMustMatchTheCheckpoint() {
        let cases: [(String, Any, [String])] = [
            ("num_hidden_layers", 1000, ["\"num_hidden_layers\" is 1000", "tensors for 2 layers"]),
            ("vocab_size", 1_000_000, ["\"vocab_size\" is 1000000", "97 rows"]),
            ("intermediate_size", 200_000, ["trunk parameters", "values"]),
        ]
        for (key, value, words) in cases {
            let dir = copyFixture("llama")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            editConfig(dir) { $0[key] = value }
            do {
                _ = try ModelDirectory.loadCausalLM(dir)
                Issue.record("\(key) = \(value) loaded")
            } catch {
                for w in words { #expect("\(error)".contains(w), "\(key) = \(value): \(error)") }
                #expect("\(error)".contains("config.json"), "\(error)")
            }
        }
    }
}
