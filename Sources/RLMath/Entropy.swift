// Policy entropy for the PPO entropy bonus and metrics: masked mean over action tokens of
// H(pi(.|s_t)) = logsumexp(x) - Σ softmax(x) x, from logits (B, A, V) via TensorCore's fused
// `softmaxEntropy` (no (B, A, V) probability tensor is kept for the backward).
// Leaves out: temperature (divide logits by T first, as for the logprobs).
import TensorCore

/// masked_mean_t H(softmax(logits[b, t, :])).
/// - logits: (B, A, V) policy logits at action positions, differentiable; mask: (B, A).
public func maskedEntropy(logits: Variable, mask: Tensor) throws(TensorError) -> Variable {
    guard logits.rank == 3, Array(logits.shape.prefix(2)) == mask.shape else {
        throw .shapeMismatch(op: "maskedEntropy", detail: "logits \(shapeString(logits.shape)) must be (B, A, V) with mask \(shapeString(mask.shape)) = (B, A)")
    }
    return try maskedMean(softmaxEntropy(logits: logits), mask: mask)   // (B, A) -> ()
}
