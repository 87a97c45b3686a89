// REINFORCE++ advantages (Hu 2025, OpenRLHF `reinforce` / `reinforce_baseline`): per-token
// rewards as PPO builds them (-beta kl_t, the score on the last action), undiscounted
// returns G_t = Σ_{s >= t} r_s, whitened over every valid token of the global batch. No
// critic. The baseline variant centres each group's scores before the token rewards are
// built (`centredScores`). docs/algorithms.md §7.
// Leaves out: discounting (gamma = 1 as in the paper).
import TensorCore

/// Returns G_t = Σ_{s >= t, valid} r_s per row, then whitened over the batch's valid tokens.
/// - rewards: (B, A) r_t; mask: (B, A) -> (B, A) advantages, 0 where mask == 0.
public func reinforcePlusPlusAdvantages(rewards: Tensor, mask: Tensor) throws(TensorError) -> Tensor {
    try whiten(try reinforcePlusPlusReturns(rewards: rewards, mask: mask), mask: mask)
}

/// G_t = Σ_{s >= t, valid} r_s per row, before whitening (data parallelism whitens over every
/// rank's rows). - rewards: (B, A) r_t; mask: (B, A) -> (B, A), 0 where mask == 0.
public func reinforcePlusPlusReturns(rewards: Tensor, mask: Tensor) throws(TensorError) -> Tensor {
    try Check.same("reinforcePlusPlusAdvantages", rewards.shape, [("mask", mask.shape)])
    guard rewards.rank == 2 else { throw .shapeMismatch(op: "reinforcePlusPlusAdvantages", detail: "rewards must be (B, A)") }
    let (b, a) = (rewards.shape[0], rewards.shape[1])
    var returns = Tensor(zeros: rewards.shape)
    for r in 0..<b {
        var g = 0.0
        for t in stride(from: a - 1, through: 0, by: -1) where mask[flat: r * a + t] != 0 {
            g += Double(rewards[flat: r * a + t])
            returns[flat: r * a + t] = Float(g)
        }
    }
    return returns
}

/// The baseline variant's first step: each score minus its group's mean. (B,) -> (B,).
public func centredScores(_ scores: [Float], groupSize g: Int) throws(TensorError) -> [Float] {
    try grpoAdvantages(scores: scores, groupSize: g, scale: .none)
}
