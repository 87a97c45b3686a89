// Training-time dropout: off unless a trainer installs it, reproducible from its seed.
import Models
import TensorCore
import Testing

@Suite struct DropoutTests {
    @Test func dropoutAppliesOnlyWhenInstalledAndIsSeeded() throws {
        let model = try ModelDirectory.loadCausalLM(fixtureDir("gpt2"))
        let batch = try Golden("gpt2").batch()
        let plain = try model(batch).value.scalars
        #expect(try model(batch).value.scalars == plain)
        model.trunk.dropout = Dropout(residual: 0.3, embedding: 0.3, rng: Philox(seed: 9))
        let dropped = try model(batch).value.scalars
        model.trunk.dropout = Dropout(residual: 0.3, embedding: 0.3, rng: Philox(seed: 9))
        let again = try model(batch).value.scalars
        model.trunk.dropout = nil
        #expect(dropped != plain)
        #expect(dropped == again)
        #expect(try model(batch).value.scalars == plain)
    }

    @Test func gpt2ConfigReadsItsDropout() throws {
        #expect(try ModelDirectory.loadConfig(fixtureDir("gpt2")).0.residualDropout == 0)
        let c = try TransformerConfig.parse(["model_type": "gpt2", "vocab_size": 10, "n_embd": 8, "n_layer": 1, "n_head": 2, "n_positions": 16],
                                           file: "config.json")
        #expect(c.residualDropout == 0.1 && c.embeddingDropout == 0.1)   // transformers' defaults
    }
}
