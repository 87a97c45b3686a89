// Global gradient-norm clipping as `torch.nn.utils.clip_grad_norm_`: every gradient is
// scaled by min(1, maxNorm / (totalNorm + 1e-6)). A non-finite norm is an error, naming
// the first parameter whose gradient holds NaN/Inf.
import TensorCore

/// The total L2 norm of all gradients (parameters without one are skipped); throws naming
/// the first parameter whose gradient holds NaN/Inf.
public func gradNorm(_ parameters: [Variable]) throws(TensorError) -> Float {
    var sq = 0.0
    for p in parameters {
        guard let g = p.grad else { continue }
        let s = Kernels.sumOfSquares(g)
        guard s.isFinite else {
            throw .nonFinite(op: "clipGradNorm", detail: "gradient of \(p.name ?? "parameter \(shapeString(p.shape))") contains NaN or Inf")
        }
        sq += s
    }
    return Float(sq.squareRoot())
}

/// Returns the total L2 norm of all gradients before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Variable], maxNorm: Float) throws(TensorError) -> Float {
    let total = try gradNorm(parameters)
    let coef = min(1, maxNorm / (total + 1e-6))
    guard coef < 1 else { return total }
    for p in parameters where p.grad != nil {
        var g = p.grad!
        p.grad = nil
        Kernels.scaleInPlace(&g, coef)
        p.grad = g
    }
    return total
}
