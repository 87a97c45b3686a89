// Every count in a training config is range-checked at load: values near Int.max used to
// wrap in count arithmetic (ceil(episodes / batch), epochs x steps, prompt + new tokens)
// and run zero iterations with exit 0, or crash. Each must be an error naming its field.
import Foundation
import Generation
import Models
import RLHF
import Testing

@Suite struct CountLimitsTests {
    func validationError(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    @Test func ppoCountsAreRangeChecked() throws {
        let huge = "9223372036854775807"
        for (field, value) in [("total_episodes", huge), ("rollout_batch_size", "1099511627776"), ("ppo_epochs", huge),
                               ("max_gen_len", huge), ("max_prompt_length", huge), ("save_steps", huge), ("logging_steps", huge),
                               ("save_total_limit", "0"), ("top_k", huge)] {
            let c = try ppoConfig(["\(field)=\(value)", "prompt_data=[\"a\"]"])
            let e = validationError { try c.validate(file: "ppo.json") }
            #expect(e?.contains(field) == true, "\(field) = \(value): \(e ?? "accepted")")
        }
    }

    @Test func ppoIterationsDoNotWrap() throws {
        var c = try ppoConfig(["prompt_data=[\"a\"]"])
        c.rolloutBatchSize = 8
        c.totalEpisodes = 1 << 40
        #expect(c.iterations == 1 << 37)
        c.totalEpisodes = 17
        #expect(c.iterations == 3)
        // Out of range for validate, but the property itself must still be ceil, not a wrapped negative.
        c.totalEpisodes = Int.max
        #expect(c.iterations == Int.max / 8 + 1)
    }

    @Test func trainingCountsAreRangeChecked() throws {
        let huge = "9223372036854775807"
        for (field, value) in [("num_train_epochs", huge), ("max_steps", huge), ("batch_size", huge),
                               ("gradient_accumulation_steps", huge), ("warmup_steps", huge), ("logging_steps", huge),
                               ("eval_steps", huge), ("save_steps", huge), ("save_total_limit", huge),
                               ("max_length", huge), ("max_prompt_length", huge), ("eval_batch_size", huge), ("max_prompt_length", "0")] {
            let c = try ConfigFile.load(SFTConfig.self, path: nil, overrides: ["model_path=m", "train_file=t", "\(field)=\(value)"])
            let e = validationError { try c.validate(file: "sft.json") }
            #expect(e?.contains(field) == true, "\(field) = \(value): \(e ?? "accepted")")
        }
    }

    @Test func hugeMaxNewTokensIsRefused() throws {
        #expect(throws: GenerationError.self) { try SamplingConfig(maxNewTokens: Int.max).validate() }
        var initializer = WeightInit.random(seed: 1)
        let model = CausalLM(config: .llama(vocabSize: 16, hiddenSize: 8, layers: 1, heads: 2, kvHeads: 1, intermediateSize: 8,
                                            maxPositions: 32), initializer: &initializer)
        for n in [Int.max, Int.max - 1, 1 << 40, 31] {
            let e = validationError { _ = try Generator.generate(model, prompts: [[1, 2]], config: SamplingConfig(maxNewTokens: n)) }
            #expect(e?.contains("max_new_tokens") == true, "max_new_tokens \(n): \(e ?? "accepted")")
        }
    }

    @Test func perplexityBatchSizeIsRangeChecked() throws {
        let bundle = try ModelBundle(directory: rlhfFixture("tiny-llama"))
        for b in [0, -1, Int.max] {
            let e = validationError { _ = try Perplexity.evaluate(bundle.model, documents: [[1, 2, 3]], batchSize: b) }
            #expect(e?.contains("batch size") == true, "batch size \(b): \(e ?? "accepted")")
        }
    }
}
