// PPO policy objectives (Schulman et al. 2017, "Proximal Policy Optimization Algorithms"):
// the clipped surrogate (`policy_loss` "clip", the default) and the KL-penalised surrogate with the
// paper's adaptive coefficient (`policy_loss` "kl_penalty"; docs/algorithms.md §4.5-4.6), as differentiable scalar losses.
// Leaves out: the full-vocabulary KL(pi_old || pi_theta) (see `klPenaltyPolicyLoss`),
// dual-clip PPO, sequence-level importance ratios.
import Foundation
import TensorCore

/// Which PPO surrogate to minimise.
public enum PolicyObjective: Sendable, Equatable {
    /// L^CLIP with ratio clipped to [1 - range, 1 + range] (`clip_ratio`).
    case clip(range: Float)
    /// L^KLPEN with penalty coefficient beta_pen (see `AdaptiveKLPenalty`) and estimator.
    case klPenalty(beta: Float, estimator: KLEstimator = .k3)
}

/// A policy loss and the statistics PPO logs about it (computed without gradient).
public struct PolicyLossResult {
    /// Scalar loss to minimise.
    public var loss: Variable
    /// Fraction of valid tokens where the clipped term is the (strictly) smaller surrogate,
    /// i.e. where the gradient was cut (TRL `pg_clipfrac`, OpenRLHF `clip_ratio`).
    /// 0 for `.klPenalty`.
    public var clipFraction: Float
    /// Approximate KL(pi_old || pi_theta) = masked_mean((ratio - 1) - log ratio), the k3
    /// form OpenRLHF and verl report (TRL logs k2, 0.5 * mean(log ratio²)). Always >= 0.
    public var approxKL: Float
    /// masked_mean of the penalty's KL estimate (`.klPenalty` only; else equals approxKL):
    /// the measured d fed to `AdaptiveKLPenalty.update`.
    public var penaltyKL: Float
}

/// Dispatches on the objective.
public func policyLoss(_ objective: PolicyObjective, logprobs: Variable, oldLogprobs: Tensor,
                       advantages: Tensor, mask: Tensor) throws(TensorError) -> PolicyLossResult {
    switch objective {
    case let .clip(range):
        return try clippedPolicyLoss(logprobs: logprobs, oldLogprobs: oldLogprobs, advantages: advantages, mask: mask, clipRange: range)
    case let .klPenalty(beta, estimator):
        return try klPenaltyPolicyLoss(logprobs: logprobs, oldLogprobs: oldLogprobs, advantages: advantages, mask: mask,
                                       beta: beta, estimator: estimator)
    }
}

/// Clipped surrogate, PPO paper eq. 7, negated for minimisation:
///   ratio = exp(log pi_theta - log pi_old)
///   L = -masked_mean(min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A))
/// - logprobs: (B, A) log pi_theta(a|s), differentiable.
/// - oldLogprobs: (B, A) log pi_old(a|s); advantages: (B, A) A_t (whitened); mask: (B, A).
public func clippedPolicyLoss(logprobs: Variable, oldLogprobs: Tensor, advantages: Tensor, mask: Tensor,
                              clipRange eps: Float) throws(TensorError) -> PolicyLossResult {
    try clippedPolicyLoss(logprobs: logprobs, oldLogprobs: oldLogprobs, advantages: advantages, mask: mask,
                          clipLow: eps, clipHigh: eps)
}

/// The KL(pi_theta || pi_ref) term GRPO adds to the loss (instead of to the reward):
/// beta * k3 per token with r = log pi_theta - log pi_ref, i.e. e^{ref - theta} - (ref - theta) - 1.
public struct KLInLoss: Sendable {
    public var beta: Float
    /// (B, A) log pi_ref(a|s).
    public var refLogprobs: Tensor
    public init(beta: Float, refLogprobs: Tensor) { self.beta = beta; self.refLogprobs = refLogprobs }
}

/// The clipped surrogate in general: separate low/high clip ranges (DAPO, Yu et al. 2025),
/// an optional KL term in the loss (GRPO, Shao et al. 2024) and the aggregation of the
/// per-token losses (docs/algorithms.md §7):
///   l_t = -min(ratio A, clip(ratio, 1 - eps_low, 1 + eps_high) A)  [+ beta k3_t]
///   L = aggregation(l)
/// clipFraction and approxKL are token means whatever the aggregation; penaltyKL is the
/// token mean of k3 against the reference when `klInLoss` is given.
/// - shapes as in `clippedPolicyLoss(clipRange:)`.
public func clippedPolicyLoss(logprobs: Variable, oldLogprobs: Tensor, advantages: Tensor, mask: Tensor,
                              clipLow: Float, clipHigh: Float, aggregation: LossAggregation = .tokenMean,
                              klInLoss: KLInLoss? = nil) throws(TensorError) -> PolicyLossResult {
    let op = "clippedPolicyLoss"
    try Check.same(op, logprobs.shape, [("oldLogprobs", oldLogprobs.shape), ("advantages", advantages.shape), ("mask", mask.shape)]
                   + (klInLoss.map { [("refLogprobs", $0.refLogprobs.shape)] } ?? []))
    guard clipLow > 0 && clipLow < 1 else { throw .invalidArgument(op: op, detail: "clip range \(clipLow) must be in (0, 1)") }
    guard clipHigh > 0 else { throw .invalidArgument(op: op, detail: "upper clip range \(clipHigh) must be > 0") }
    let adv = Variable(advantages)
    let logRatio = try logprobs - Variable(oldLogprobs)                     // (B, A) log ratio
    let ratio = logRatio.exp()                                              // (B, A)
    let surr1 = try ratio * adv                                             // (B, A) ratio A
    let surr2 = try ratio.clamped(min: 1 - clipLow, max: 1 + clipHigh) * adv // (B, A) clip(ratio) A
    var perToken = try minimum(surr1, surr2).negated()                      // (B, A) l_t
    var referenceKL: Float?
    if let kl = klInLoss {
        guard kl.beta >= 0 else { throw .invalidArgument(op: op, detail: "KL beta \(kl.beta) must be >= 0") }
        let k3 = KLEstimator.k3.estimate(logRatio: try logprobs - Variable(kl.refLogprobs))  // (B, A)
        perToken = try perToken + k3.scaled(by: kl.beta)
        referenceKL = try maskedMean(k3.value, mask: mask)
    }
    let loss = aggregation == .tokenMean ? try maskedMean(perToken, mask: mask) : try aggregation.aggregate(perToken, mask: mask)
    var clipped = Tensor(zeros: mask.shape)
    for i in 0..<clipped.count where surr2.value[flat: i] < surr1.value[flat: i] { clipped[flat: i] = 1 }
    let approx = try approxKL(logRatio: logRatio.value, mask: mask)
    return PolicyLossResult(loss: loss, clipFraction: try maskedMean(clipped, mask: mask), approxKL: approx,
                            penaltyKL: referenceKL ?? approx)
}

/// KL-penalised surrogate, PPO paper eq. 8, negated for minimisation:
///   L = -masked_mean(ratio * A - beta * KL_est(pi_old || pi_theta))
/// with KL_est the per-token estimator at the sampled token (a ~ pi_old), on the log ratio
/// r = log pi_old - log pi_theta. k3 (default) is e^{-r} - 1 + r = (ratio - 1) - log ratio,
/// whose gradient (ratio - 1) grad log pi_theta has expectation exactly grad KL(pi_old || pi_theta)
/// under pi_old; k1 = -log ratio has the right value in expectation but a biased gradient.
/// The exact full-vocabulary KL, Σ_v pi_old(v) log(pi_old(v) / pi_theta(v)), is NOT computed:
/// it needs pi_old's full (B, A, V) distribution stored from the rollout (V ~ 50k floats per
/// token), which the experience buffer does not keep; the estimate needs only the logprobs.
/// - shapes as in `clippedPolicyLoss`.
public func klPenaltyPolicyLoss(logprobs: Variable, oldLogprobs: Tensor, advantages: Tensor, mask: Tensor,
                                beta: Float, estimator: KLEstimator = .k3) throws(TensorError) -> PolicyLossResult {
    let op = "klPenaltyPolicyLoss"
    try Check.same(op, logprobs.shape, [("oldLogprobs", oldLogprobs.shape), ("advantages", advantages.shape), ("mask", mask.shape)])
    guard beta >= 0 else { throw .invalidArgument(op: op, detail: "beta \(beta) must be >= 0") }
    let logRatio = try logprobs - Variable(oldLogprobs)                     // (B, A) log pi_theta - log pi_old
    let ratio = logRatio.exp()                                              // (B, A)
    let kl = estimator.estimate(logRatio: logRatio.negated())               // (B, A) KL_est(pi_old || pi_theta)
    let objective = try ratio * Variable(advantages) - kl.scaled(by: beta)  // (B, A)
    let loss = try maskedMean(objective, mask: mask).negated()
    return PolicyLossResult(loss: loss, clipFraction: 0, approxKL: try approxKL(logRatio: logRatio.value, mask: mask),
                            penaltyKL: try maskedMean(kl.value, mask: mask))
}

/// masked_mean((ratio - 1) - log ratio) from log ratio = log pi_theta - log pi_old.
func approxKL(logRatio: Tensor, mask: Tensor) throws(TensorError) -> Float {
    try maskedMean(KLEstimator.k3.estimate(logRatio: logRatio.negatedValues()), mask: mask)
}

extension Tensor {
    func negatedValues() -> Tensor { Kernels.mapped(self) { -$0 } }
}

/// The adaptive KL-penalty coefficient of the PPO paper (section 4): after each policy
/// update with measured d = KL(pi_old || pi_theta),
///   d < target / 1.5  ->  beta /= 2,      d > target * 1.5  ->  beta *= 2.
/// Codable: it lives in checkpoints.
public struct AdaptiveKLPenalty: Codable, Sendable, Equatable {
    public private(set) var beta: Float
    /// d_targ, the KL per token the update should move the policy by.
    public let target: Float

    public init(beta: Float, target: Float) {
        self.beta = beta
        self.target = target
    }

    public mutating func update(measuredKL d: Float) {
        if d < target / 1.5 { beta /= 2 } else if d > target * 1.5 { beta *= 2 }
    }
}
