// Generator: batched sampling with a KV cache. Prompts are left-padded (positions from the
// mask, so padding never shifts them), prefilled in one forward, then decoded one token
// per step; a row ends at its first EOS (kept in the response) or at maxNewTokens, and
// finished rows are fed padding (mask 0) so the batch keeps going. Never records a tape.
import Models
import TensorCore

public struct GenerationResult: Sendable {
    /// The left-padded prompts as the model saw them.
    public var prompts: TokenBatch
    /// Response tokens per row, up to and including the first EOS.
    public var tokens: [[Int32]]
    /// log softmax(logits / T)[token] per response token (T = 1 when greedy).
    public var logprobs: [[Float]]
    /// log-prob under the truncated (top-k/top-p) distribution actually sampled from.
    public var samplingLogprobs: [[Float]]
    /// Whether each row ended with an EOS (false: it hit maxNewTokens).
    public var hitEOS: [Bool]

    public init(prompts: TokenBatch, tokens: [[Int32]], logprobs: [[Float]], samplingLogprobs: [[Float]], hitEOS: [Bool]) {
        self.prompts = prompts; self.tokens = tokens; self.logprobs = logprobs
        self.samplingLogprobs = samplingLogprobs; self.hitEOS = hitEOS
    }

    /// Prompt + response as one (B, Tp + Tr) batch: prompts left-padded, responses
    /// right-padded with `pad`; mask 1 on real prompt tokens and response tokens up to and
    /// including EOS. `actionMask` (B, Tr) marks response tokens.
    public func sequences(pad: Int32) throws(TensorError) -> (batch: TokenBatch, actionMask: [Float], responseLength: Int) {
        let b = prompts.batch, tp = prompts.time
        let tr = tokens.map(\.count).max() ?? 0
        var ids: [Int32] = [], mask: [Float] = [], action: [Float] = []
        for r in 0..<b {
            ids += prompts.ids[(r * tp)..<((r + 1) * tp)]
            mask += prompts.attentionMask[(r * tp)..<((r + 1) * tp)]
            let resp = tokens[r]
            ids += resp + [Int32](repeating: pad, count: tr - resp.count)
            let m = [Float](repeating: 1, count: resp.count) + [Float](repeating: 0, count: tr - resp.count)
            mask += m; action += m
        }
        return (try TokenBatch(ids: ids, batch: b, time: tp + tr, attentionMask: mask), action, tr)
    }
}

public enum Generator {
    /// Samples continuations of `prompts` (token ids, any lengths >= 1).
    /// `onStep(step, newTokens)` is called after each decode step (nil for finished rows):
    /// used for streaming.
    /// `firstRow`: the index of prompts[0] in a larger batch split over ranks; row r samples
    /// from Philox(seed, stream: firstRow + r), so a row's tokens do not depend on the split.
    public static func generate(_ model: CausalLM, prompts: [[Int32]], config: SamplingConfig, firstRow: Int = 0,
                                onStep: ((Int, [Int32?]) -> Void)? = nil) throws -> GenerationResult {
        try config.validate()
        guard !prompts.isEmpty else { throw GenerationError.invalidPrompt("no prompts given") }
        if let empty = prompts.firstIndex(where: { $0.isEmpty }) {
            throw GenerationError.invalidPrompt("row \(empty) is empty (start it with the BOS token, as the tokenizer does for models that use one)")
        }
        let c = model.config
        for (r, p) in prompts.enumerated() {
            if let bad = p.first(where: { $0 < 0 || Int($0) >= c.vocabSize }) {
                throw GenerationError.invalidPrompt("row \(r) holds token id \(bad), outside the vocabulary of \(c.vocabSize)")
            }
        }
        let width = prompts.map(\.count).max()!
        // Subtraction, not `width + maxNewTokens`, which wraps for a huge max_new_tokens.
        if config.maxNewTokens > c.maxPositions - width {
            throw GenerationError.invalidPrompt("a prompt of \(width) tokens plus max_new_tokens \(config.maxNewTokens) exceeds the model's context of \(c.maxPositions) positions")
        }
        let batch = try TokenBatch.leftPadded(prompts, padId: config.padTokenId)
        let b = batch.batch, v = c.vocabSize
        let cache = KVCache(config: c, batch: b, capacity: width + config.maxNewTokens)
        var rngs = (0..<b).map { Philox(seed: config.seed, stream: UInt64(firstRow + $0)) }
        let eos = Set(config.eosTokenIds)

        var tokens = [[Int32]](repeating: [], count: b)
        var logprobs = [[Float]](repeating: [], count: b), sampling = logprobs
        var done = [Bool](repeating: false, count: b), hitEOS = done
        var nextPosition = (0..<b).map { r in batch.positions[r * width + width - 1] + 1 }

        var logits = try lastLogits(model, batch, cache)                      // (B, V)
        for step in 0..<config.maxNewTokens {
            var fed = [Int32](repeating: config.padTokenId, count: b)
            var fedMask = [Float](repeating: 0, count: b)
            var emitted = [Int32?](repeating: nil, count: b)
            logits.withUnsafeBufferPointer { lp in
                for r in 0..<b where !done[r] {
                    let s = TokenSampler.sample(UnsafeBufferPointer(rebasing: lp[(r * v)..<((r + 1) * v)]), config: config, rng: &rngs[r])
                    tokens[r].append(s.token); logprobs[r].append(s.logprob); sampling[r].append(s.samplingLogprob)
                    emitted[r] = s.token
                    if eos.contains(s.token) { done[r] = true; hitEOS[r] = true }
                    fed[r] = s.token; fedMask[r] = 1
                }
            }
            onStep?(step, emitted)
            if step == config.maxNewTokens - 1 || done.allSatisfy({ $0 }) { break }
            // Finished rows are fed padding with mask 0: their cache rows are never read
            // as real keys, so the other rows are unaffected.
            let stepBatch = try TokenBatch(ids: fed, batch: b, time: 1, attentionMask: fedMask, positions: nextPosition)
            for r in 0..<b { nextPosition[r] += 1 }
            logits = try lastLogits(model, stepBatch, cache)
        }
        return GenerationResult(prompts: batch, tokens: tokens, logprobs: logprobs, samplingLogprobs: sampling, hitEOS: hitEOS)
    }

    /// Logits of the last position of each row, (B, V), appending to the cache.
    static func lastLogits(_ model: CausalLM, _ batch: TokenBatch, _ cache: KVCache) throws -> Tensor {
        try Tape.noGrad {
            var hidden = try model.trunk(batch, cache: cache)                // (B, T, C)
            if batch.time > 1 { hidden = try hidden.sliced(axis: 1, (batch.time - 1)..<batch.time) }
            return try model.logits(hidden: hidden).value.reshaped([batch.batch, model.config.vocabSize])
        }
    }
}
