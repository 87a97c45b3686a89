// Per-token PPO rewards (docs/algorithms.md §4.3): r_t = -beta * kl_t on every action token, plus
// the sequence score at each row's last valid action token. The score may first get the
// missing-EOS penalty (TRL `missing_eos_penalty`) and then be clipped (OpenRLHF
// `reward_clip_range`). Leaves out: reward normalisation (see RunningMoments).
import TensorCore

/// Rewards for one rollout batch.
public struct TokenRewards {
    /// (B, A) r_t = -beta kl_t (+ score at the last valid token); 0 where mask == 0.
    public var rewards: Tensor
    /// (B, A) kl_t, the chosen estimator of KL(pi_old || pi_ref) per token; 0 where mask == 0.
    public var kl: Tensor
    /// (B,) Σ_t kl_t per sequence (the logged mean KL per sequence is its mean).
    public var klSum: Tensor
    /// (B,) the scores actually added, after penalty and clipping.
    public var scores: Tensor
}

/// Options applied to the sequence score before it is added.
public struct ScoreShaping: Sendable, Equatable {
    /// Subtracted from the score of every row whose response has no EOS (hit max_gen_len).
    public var missingEOSPenalty: Float?
    /// Clip the (penalised) score to [-clip, clip].
    public var clip: Float?
    public init(missingEOSPenalty: Float? = nil, clip: Float? = nil) {
        self.missingEOSPenalty = missingEOSPenalty
        self.clip = clip
    }
}

/// r_t = -beta * KL_est(old_t - ref_t) on valid action tokens, and
/// r_last(b) += shape(score_b), where last(b) = the largest t with mask[b, t] != 0 and
/// shape = (subtract the missing-EOS penalty if !endsWithEOS[b]) then clip.
/// - scores: (B,) reward-model (or rule) score per sequence.
/// - oldLogprobs: (B, A) log pi_old(a|s); refLogprobs: (B, A) log pi_ref(a|s).
/// - mask: (B, A) 1 on action tokens up to and including EOS.
/// - endsWithEOS: per row, whether the response ended with EOS (needed for the penalty).
/// Throws if a row has no valid action token (its score would have nowhere to go).
public func tokenRewards(scores: Tensor, oldLogprobs: Tensor, refLogprobs: Tensor, mask: Tensor,
                         beta: Float, estimator: KLEstimator = .k1,
                         endsWithEOS: [Bool]? = nil, shaping: ScoreShaping = ScoreShaping()) throws(TensorError) -> TokenRewards {
    let op = "tokenRewards"
    let (b, a) = try Check.matrix(op, "oldLogprobs", oldLogprobs.shape)
    try Check.same(op, [b, a], [("refLogprobs", refLogprobs.shape), ("mask", mask.shape)])
    try Check.same(op, [b], [("scores", scores.shape)])
    if let e = endsWithEOS, e.count != b {
        throw .shapeMismatch(op: op, detail: "endsWithEOS has \(e.count) entries for \(b) rows")
    }
    if shaping.missingEOSPenalty != nil && endsWithEOS == nil {
        throw .invalidArgument(op: op, detail: "missingEOSPenalty needs endsWithEOS")
    }
    if let c = shaping.clip, !(c > 0) { throw .invalidArgument(op: op, detail: "score clip \(c) must be > 0") }

    var rewards = Tensor(zeros: [b, a]), kl = Tensor(zeros: [b, a])
    var klSum = Tensor(zeros: [b]), shaped = Tensor(zeros: [b])
    for i in 0..<b {
        var last = -1, sum = 0.0
        for t in 0..<a where mask[flat: i * a + t] != 0 {
            let k = estimator(oldLogprobs[flat: i * a + t] - refLogprobs[flat: i * a + t])
            kl[flat: i * a + t] = k
            rewards[flat: i * a + t] = -beta * k
            sum += Double(k)
            last = t
        }
        guard last >= 0 else { throw .invalidArgument(op: op, detail: "row \(i) has no valid action token") }
        var score = scores[flat: i]
        if let p = shaping.missingEOSPenalty, endsWithEOS?[i] == false { score -= p }
        if let c = shaping.clip { score = min(max(score, -c), c) }
        rewards[flat: i * a + last] += score
        shaped[flat: i] = score
        klSum[flat: i] = Float(sum)
    }
    return TokenRewards(rewards: rewards, kl: kl, klSum: klSum, scores: shaped)
}
