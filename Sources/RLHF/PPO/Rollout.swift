// Rollout: one sampled batch as the RL steps read it — prompts (left-padded) + responses
// (right-padded) as one token batch, the actions and their mask, and the decoded responses.
// `Rollout.sample` is the one rollout function the trainer, the demo and `rlhf-bench` call;
// `Rollout(_:pad:tokenizer:)` lays out a given generation (fixed rollouts in tests).
// Leaves out the scoring (Experience does that).
import Generation
import Models
import TensorCore
import Tokenizers

public struct Rollout {
    /// What the sampler returned (tokens, log-probs, hitEOS per row).
    public var generation: GenerationResult
    public var sequences: TokenBatch        // (B, T) prompt (left-padded) + response (right-padded)
    public var promptWidth: Int             // Tp
    public var actions: [Int32]             // (B, A) response tokens, pad where masked
    public var actionMask: Tensor           // (B, A) 1 on response tokens up to and including EOS
    /// Each response decoded without its EOS and special tokens (empty without a tokenizer).
    public var responses: [String]

    public var batch: Int { sequences.batch }
    public var actionCount: Int { actionMask.shape[1] }

    /// Lays out `generation` with `pad` in the padding; decodes with `tokenizer` if given.
    public init(_ generation: GenerationResult, pad: Int32, tokenizer: Tokenizer?) throws {
        let (seq, mask, a) = try generation.sequences(pad: pad)
        let b = seq.batch
        var actions = [Int32](repeating: pad, count: b * a)
        for r in 0..<b { for (j, t) in generation.tokens[r].enumerated() { actions[r * a + j] = t } }
        self.generation = generation
        sequences = seq
        promptWidth = generation.prompts.time
        self.actions = actions
        actionMask = try Tensor(shape: [b, a], data: mask)
        responses = tokenizer.map { tok in
            generation.tokens.enumerated().map { r, toks in
                let body = generation.hitEOS[r] ? Array(toks.dropLast()) : toks
                return tok.decode(body.map(Int.init), skipSpecialTokens: true)
            }
        } ?? []
    }

    /// Samples one response per prompt from `actor` (KV cache) and lays the batch out; prompt j
    /// is global row firstRow + j (its sampling stream, see Generator.generate).
    public static func sample(_ actor: CausalLM, prompts: [[Int32]], config: SamplingConfig, tokenizer: Tokenizer?,
                              firstRow: Int = 0) throws -> Rollout {
        try Rollout(try Generator.generate(actor, prompts: prompts, config: config, firstRow: firstRow), pad: config.padTokenId,
                    tokenizer: tokenizer)
    }
}
