// The rollout engine against transformers (greedy), against a full forward pass (the
// recorded log-probs), and against itself (seeds), plus the sampler's truncations.
import Foundation
import Generation
import Models
import TensorCore
import Testing

func modelDir(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ModelsTests/Fixtures/\(name)").path
}

nonisolated(unsafe) let greedyFixture: [String: Any] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/greedy.json")
    return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
}()

let prompts: [[Int32]] = (greedyFixture["prompts"] as! [[Int]]).map { $0.map(Int32.init) }

/// log softmax(logits / T) of each response token, from one forward over prompt + response.
func forwardLogprobs(_ model: CausalLM, _ result: GenerationResult, temperature: Float) throws -> [[Float]] {
    let (batch, _, _) = try result.sequences(pad: 0)
    let logits = try model(batch).value.scalars
    let v = model.config.vocabSize, tp = result.prompts.time, t = batch.time
    return result.tokens.enumerated().map { r, toks in
        toks.enumerated().map { j, tok in
            let row = Array(logits[((r * t + tp + j - 1) * v)..<((r * t + tp + j) * v)]).map { Double($0 / temperature) }
            let m = row.max()!
            let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
            return Float(row[Int(tok)] - lse)
        }
    }
}

@Suite struct GeneratorTests {
    @Test(arguments: ["gpt2", "llama", "qwen2"])
    func greedyMatchesTransformersOnALeftPaddedBatch(name: String) throws {
        let model = try ModelDirectory.loadCausalLM(modelDir(name))
        let c = (greedyFixture["cases"] as! [String: Any])[name] as! [String: Any]
        let eos = Int32(c["eos"] as! Int)
        let config = SamplingConfig(maxNewTokens: 10, temperature: 0, eosTokenIds: [eos], padTokenId: 96)
        let result = try Generator.generate(model, prompts: prompts, config: config)
        let expected = (c["responses"] as! [[Int]]).map { row -> [Int32] in
            let ids = row.map(Int32.init)
            if let e = ids.firstIndex(of: eos) { return Array(ids[...e]) }
            return ids
        }
        #expect(result.tokens == expected, "\(name): ours \(result.tokens) vs transformers \(expected)")
        #expect(result.hitEOS == expected.map { $0.last == eos })
        let ref = try forwardLogprobs(model, result, temperature: 1)
        for r in 0..<prompts.count {
            for j in 0..<ref[r].count {
                #expect(abs(result.logprobs[r][j] - ref[r][j]) <= 1e-4, "\(name) row \(r) token \(j): \(result.logprobs[r][j]) vs forward \(ref[r][j])")
            }
        }
    }

    @Test(arguments: [(Float(0.7), 0, Float(1)), (Float(1.3), 5, Float(1)), (Float(0.9), 0, Float(0.8)), (Float(1), 20, Float(0.9))])
    func sampledLogprobsEqualAFullForward(temperature: Float, topK: Int, topP: Float) throws {
        let model = try ModelDirectory.loadCausalLM(modelDir("llama"))
        let config = SamplingConfig(maxNewTokens: 8, temperature: temperature, topK: topK, topP: topP, eosTokenIds: [7], padTokenId: 96, seed: 11)
        let result = try Generator.generate(model, prompts: prompts, config: config)
        let ref = try forwardLogprobs(model, result, temperature: temperature)
        for r in 0..<prompts.count {
            for j in 0..<ref[r].count {
                #expect(abs(result.logprobs[r][j] - ref[r][j]) <= 1e-4, "row \(r) token \(j): \(result.logprobs[r][j]) vs forward \(ref[r][j])")
                #expect(result.samplingLogprobs[r][j] >= result.logprobs[r][j] - 1e-5, "truncation can only raise a token's probability")
            }
        }
    }

    @Test func seedsReproduceAndDiffer() throws {
        let model = try ModelDirectory.loadCausalLM(modelDir("gpt2"))
        let same = [[Int32]](repeating: [5, 17, 42], count: 4)
        func run(_ seed: UInt64) throws -> [[Int32]] {
            try Generator.generate(model, prompts: same, config: SamplingConfig(maxNewTokens: 12, temperature: 1.5, seed: seed)).tokens
        }
        let a = try run(1), b = try run(1), c = try run(2)
        #expect(a == b)
        #expect(a != c)
        #expect(Set(a).count > 1, "rows with the same prompt must draw different samples: \(a)")
    }

    @Test func badRequestsAreClearErrors() throws {
        let model = try ModelDirectory.loadCausalLM(modelDir("gpt2"))
        func message(_ p: [[Int32]], _ c: SamplingConfig) -> String {
            do { _ = try Generator.generate(model, prompts: p, config: c); return "" } catch { return "\(error)" }
        }
        #expect(message([[1, 2], []], SamplingConfig()).contains("row 1 is empty"))
        #expect(message([[1]], SamplingConfig(maxNewTokens: 0)).contains("max_new_tokens"))
        #expect(message([[1]], SamplingConfig(topP: 0)).contains("top_p"))
        #expect(message([[1]], SamplingConfig(topP: 1.5)).contains("top_p"))
        #expect(message([[Int32](repeating: 3, count: 30)], SamplingConfig(maxNewTokens: 3)).contains("exceeds the model's context of 32"))
        #expect(message([[1000]], SamplingConfig()).contains("outside the vocabulary"))
    }
}

@Suite struct TokenSamplerTests {
    /// A fixed distribution: logits log(p) for p = [0.5, 0.25, 0.15, 0.1].
    let logits: [Float] = [0.5, 0.25, 0.15, 0.1].map { Float(log($0)) }

    func draw(_ config: SamplingConfig, n: Int = 4000) -> [Int] {
        var rng = Philox(seed: 3)
        var counts = [0, 0, 0, 0]
        logits.withUnsafeBufferPointer { lp in
            for _ in 0..<n { counts[Int(TokenSampler.sample(lp, config: config, rng: &rng).token)] += 1 }
        }
        return counts
    }

    @Test func frequenciesFollowTheDistribution() {
        let counts = draw(SamplingConfig())
        for (i, p) in [0.5, 0.25, 0.15, 0.1].enumerated() {
            #expect(abs(Double(counts[i]) / 4000 - p) < 0.03, "token \(i): \(counts[i]) / 4000 vs p = \(p)")
        }
    }

    @Test func topKAndTopPTruncate() {
        #expect(draw(SamplingConfig(topK: 2))[2...].allSatisfy { $0 == 0 })
        // Exclusive prefix masses: 0, 0.5, 0.75, 0.9 -> top_p 0.7 keeps tokens 0 and 1.
        let c = draw(SamplingConfig(topP: 0.7))
        #expect(c[2] == 0 && c[3] == 0 && c[1] > 1000)
        // top_p 0.8 keeps 0, 1, 2.
        let d = draw(SamplingConfig(topP: 0.8))
        #expect(d[3] == 0 && d[2] > 0)
        var rng = Philox(seed: 1)
        let s = logits.withUnsafeBufferPointer { TokenSampler.sample($0, config: SamplingConfig(topK: 1), rng: &rng) }
        #expect(s.token == 0 && abs(s.samplingLogprob) < 1e-6 && abs(s.logprob - Float(log(0.5))) < 1e-6)
    }
}
