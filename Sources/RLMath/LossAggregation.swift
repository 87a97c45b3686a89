// How a per-token loss l_{i,t} becomes one scalar, as the RL methods define it (TRL
// `loss_type`): the token mean over the batch (PPO, DAPO, TRL "bnpo"/"dapo"), the mean of
// per-sequence means (GRPO), or a constant normaliser (Dr. GRPO, Liu et al. 2025, which
// removes the length bias). Each is a weighted sum with weights w_{i,t} (0 on padding).
// docs/algorithms.md §7. Leaves out: normalisation across data-parallel ranks.
import TensorCore

public enum LossAggregation: Sendable, Equatable {
    /// Σ_{i,t} l / Σ_i |y_i| over the batch.
    case tokenMean
    /// mean_i (1 / |y_i|) Σ_t l (rows with no valid token are skipped).
    case sequenceMean
    /// Σ_{i,t} l / normalizer, e.g. G * max_completion_length.
    case constant(normalizer: Float)

    /// The weights w (B, A) with loss = Σ w * l.  - mask: (B, A).
    public func weights(mask: Tensor) throws(TensorError) -> Tensor {
        guard mask.rank == 2 else { throw .shapeMismatch(op: "LossAggregation", detail: "mask must be (B, A), got \(shapeString(mask.shape))") }
        let (b, a) = (mask.shape[0], mask.shape[1])
        var w = Tensor(zeros: mask.shape)
        switch self {
        case .tokenMean:
            let n = (0..<mask.count).reduce(0.0) { $0 + Double(mask[flat: $1]) }
            guard n > 0 else { throw .invalidArgument(op: "LossAggregation", detail: "the mask selects no token") }
            for i in 0..<mask.count { w[flat: i] = Float(Double(mask[flat: i]) / n) }
        case .sequenceMean:
            let rows = (0..<b).map { r in (0..<a).reduce(0.0) { $0 + Double(mask[flat: r * a + $1]) } }
            let live = rows.filter { $0 > 0 }.count
            guard live > 0 else { throw .invalidArgument(op: "LossAggregation", detail: "the mask selects no token") }
            for r in 0..<b where rows[r] > 0 {
                for j in 0..<a { w[flat: r * a + j] = Float(Double(mask[flat: r * a + j]) / rows[r] / Double(live)) }
            }
        case let .constant(c):
            guard c > 0 else { throw .invalidArgument(op: "LossAggregation", detail: "normalizer \(c) must be > 0") }
            for i in 0..<mask.count { w[flat: i] = mask[flat: i] / c }
        }
        return w
    }

    /// Σ w * l: the scalar loss.  - perToken: (B, A), differentiable; mask: (B, A).
    public func aggregate(_ perToken: Variable, mask: Tensor) throws(TensorError) -> Variable {
        try Check.same("LossAggregation.aggregate", perToken.shape, [("mask", mask.shape)])
        return try (perToken * Variable(weights(mask: mask))).sum()
    }
}
