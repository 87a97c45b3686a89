// Per-sample estimators of KL(p || q) from the log ratio r = log p(x) - log q(x) of a token
// x sampled from p (Schulman, "Approximating KL divergence", 2020): k1 = r, k2 = r²/2,
// k3 = e^-r - 1 + r. On Tensors (rewards, metrics) and on Variables (penalty losses).
// Leaves out: the full-vocabulary KL (needs both (B, A, V) distributions; see PolicyLoss).
import Foundation
import TensorCore

/// How to estimate KL(p || q) at one sampled token from r = log p - log q.
/// In RLHF rewards p = pi_old (the sampler) and q = pi_ref, so r = old_logprobs - ref_logprobs.
public enum KLEstimator: String, Codable, Sendable, CaseIterable {
    /// k1 = r: unbiased, high variance, can be negative per token.
    case k1
    /// k2 = r² / 2: biased, low variance, >= 0.
    case k2
    /// k3 = e^{-r} - 1 + r = (q/p - 1) - log(q/p): unbiased, low variance, >= 0.
    case k3

    /// The estimate at one log ratio r.
    public func callAsFunction(_ r: Float) -> Float {
        switch self {
        case .k1: return r
        case .k2: return 0.5 * r * r
        case .k3: return Foundation.expm1(-r) + r
        }
    }

    /// Elementwise estimate from a log-ratio tensor (any shape).
    public func estimate(logRatio: Tensor) -> Tensor {
        var y = logRatio
        y.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = self(p[i]) } }
        return y
    }

    /// Elementwise estimate of KL(p || q) from log p and log q of the sampled tokens.
    /// logp, logq: (B, A) -> (B, A).
    public func estimate(logp: Tensor, logq: Tensor) throws(TensorError) -> Tensor {
        try Check.same("KLEstimator.\(rawValue)", logp.shape, [("logq", logq.shape)])
        var r = logp
        for i in 0..<r.count { r[flat: i] = logp[flat: i] - logq[flat: i] }
        return estimate(logRatio: r)
    }

    /// Differentiable elementwise estimate from a log-ratio Variable:
    /// d k1/dr = 1, d k2/dr = r, d k3/dr = 1 - e^{-r}.
    public func estimate(logRatio r: Variable) -> Variable {
        let x = r.value
        switch self {
        case .k1:
            return r.scaled(by: 1)
        case .k2:
            let y = Kernels.mapped(x) { 0.5 * $0 * $0 }
            return Tape.output(y, inputs: [r]) { g, _ in [Kernels.zipped(x, g) { $0 * $1 }] }
        case .k3:
            var y = x
            y.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = Foundation.expm1(-p[i]) + p[i] } }
            return Tape.output(y, inputs: [r]) { g, _ in
                var d = g
                d.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= -Foundation.expm1(-x[flat: i]) } }
                return [d]
            }
        }
    }
}
