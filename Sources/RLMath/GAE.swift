// Generalized Advantage Estimation (Schulman et al. 2016, "High-Dimensional Continuous
// Control Using Generalized Advantage Estimation"), per row, backwards over the valid
// action tokens. Plain loops on purpose: B x A is small and the recursion is the spec.
// Leaves out: whitening (call `whiten`), bootstrapping from a value after the last token.
import TensorCore

/// Advantages and returns of one rollout batch, both (B, A) and 0 where mask == 0.
public struct GAEResult {
    /// (B, A) A_t
    public var advantages: Tensor
    /// (B, A) R_t = A_t + V_t, the value-function target.
    public var returns: Tensor
}

/// For each row, over its valid tokens t_1 < t_2 < ... < t_n (mask != 0), backwards:
///   delta_t = r_t + gamma * V_next - V_t,   A_t = delta_t + gamma * lambda * A_next,
///   R_t = A_t + V_t,
/// where "next" is the next VALID token of the row and V, A after the last one are 0
/// (episodes end at EOS or max_gen_len). Masked tokens are skipped, never read: garbage
/// values or rewards after EOS (or in a hole) cannot leak into earlier tokens. For the
/// usual right-ragged mask this is exactly TRL's loop on mask-zeroed rewards and values.
/// - rewards: (B, A) r_t; values: (B, A) V(s_t); mask: (B, A).
public func generalizedAdvantages(rewards: Tensor, values: Tensor, mask: Tensor,
                                  gamma: Float, lambda: Float) throws(TensorError) -> GAEResult {
    let op = "generalizedAdvantages"
    let (b, a) = try Check.matrix(op, "rewards", rewards.shape)
    try Check.same(op, [b, a], [("values", values.shape), ("mask", mask.shape)])
    var adv = Tensor(zeros: [b, a]), ret = Tensor(zeros: [b, a])
    for i in 0..<b {
        var nextValue: Float = 0, nextAdvantage: Float = 0
        for t in stride(from: a - 1, through: 0, by: -1) where mask[flat: i * a + t] != 0 {
            let v = values[flat: i * a + t]
            let delta = rewards[flat: i * a + t] + gamma * nextValue - v
            let advantage = delta + gamma * lambda * nextAdvantage
            adv[flat: i * a + t] = advantage
            ret[flat: i * a + t] = advantage + v
            nextValue = v
            nextAdvantage = advantage
        }
    }
    return GAEResult(advantages: adv, returns: ret)
}
