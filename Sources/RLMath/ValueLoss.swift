// The critic's loss: clipped value loss of PPO2 / TRL / OpenRLHF (docs/algorithms.md §4.5, `cliprange_value`),
// or plain masked MSE (the source article's) when no clip range is given.
// Leaves out: Huber losses, return normalisation (scale returns before calling).
import TensorCore

/// A value loss and its clip statistics.
public struct ValueLossResult {
    /// Scalar loss to minimise.
    public var loss: Variable
    /// Fraction of valid tokens where V left the clip range and the clipped error is the
    /// larger (active) one (TRL `vf_clipfrac`, without counting rounding ties); 0 without clipping.
    public var clipFraction: Float
}

/// With clipRange eps_v:
///   V_clip = clip(V, V_old - eps_v, V_old + eps_v) = V_old + clip(V - V_old, -eps_v, eps_v)
///   L = 0.5 * masked_mean(max((V - R)², (V_clip - R)²))
/// Without (nil): L = 0.5 * masked_mean((V - R)²).
/// - values: (B, A) V_phi(s_t), differentiable; oldValues: (B, A) V at rollout time;
///   returns: (B, A) R_t = A_t + V_old,t (GAE); mask: (B, A).
public func valueLoss(values: Variable, oldValues: Tensor, returns: Tensor, mask: Tensor,
                      clipRange: Float?) throws(TensorError) -> ValueLossResult {
    let op = "valueLoss"
    try Check.same(op, values.shape, [("oldValues", oldValues.shape), ("returns", returns.shape), ("mask", mask.shape)])
    let target = Variable(returns)
    let err1 = try (values - target).squared()                              // (B, A) (V - R)²
    guard let eps = clipRange else {
        return ValueLossResult(loss: try maskedMean(err1, mask: mask).scaled(by: 0.5), clipFraction: 0)
    }
    guard eps > 0 else { throw .invalidArgument(op: op, detail: "value clip range \(eps) must be > 0") }
    let old = Variable(oldValues)
    let clipped = try old + (values - old).clamped(min: -eps, max: eps)     // (B, A) V_clip
    let err2 = try (clipped - target).squared()                             // (B, A) (V_clip - R)²
    let loss = try maskedMean(maximum(err1, err2), mask: mask).scaled(by: 0.5)
    var active = Tensor(zeros: mask.shape)
    // Active where V left [V_old - eps_v, V_old + eps_v] and the clipped error won; inside
    // the range V_clip == V in exact arithmetic, so rounding must not count as clipping.
    for i in 0..<active.count where err2.value[flat: i] > err1.value[flat: i]
        && abs(values.value[flat: i] - oldValues[flat: i]) > eps { active[flat: i] = 1 }
    return ValueLossResult(loss: loss, clipFraction: try maskedMean(active, mask: mask))
}
