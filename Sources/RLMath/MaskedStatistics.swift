// Masked statistics over (B, A) tensors with a 0/1 mask: sums, means (all or per row),
// variance (TRL's `masked_var`, with Bessel's correction by default), whitening (TRL's
// `masked_whiten`, then masked), and explained variance. Plain Double loops: B x A is small.
// Leaves out: weighted masks (any non-zero mask entry counts as exactly 1).
import Foundation
import TensorCore

/// Σ x over entries where mask != 0.
/// x, mask: (B, A) (any equal shapes work).
public func maskedSum(_ x: Tensor, mask: Tensor) throws(TensorError) -> Float {
    try Check.same("maskedSum", x.shape, [("mask", mask.shape)])
    return Float(doubleSum(x, mask))
}

/// Σ x / n over entries where mask != 0; throws when the mask is all zero.
public func maskedMean(_ x: Tensor, mask: Tensor) throws(TensorError) -> Float {
    try Check.same("maskedMean", x.shape, [("mask", mask.shape)])
    let n = try Check.validCount("maskedMean", mask)
    return Float(doubleSum(x, mask) / Double(n))
}

/// Per-row masked sums: (B, A) -> (B,).
public func maskedRowSums(_ x: Tensor, mask: Tensor) throws(TensorError) -> Tensor {
    let (b, a) = try Check.matrix("maskedRowSums", "x", x.shape)
    try Check.same("maskedRowSums", x.shape, [("mask", mask.shape)])
    var out = Tensor(zeros: [b])
    for i in 0..<b {
        var s = 0.0
        for t in 0..<a where mask[flat: i * a + t] != 0 { s += Double(x[flat: i * a + t]) }
        out[flat: i] = Float(s)
    }
    return out
}

/// Per-row masked means: (B, A) -> (B,); a row with no valid entry gives 0.
public func maskedRowMeans(_ x: Tensor, mask: Tensor) throws(TensorError) -> Tensor {
    let (b, a) = try Check.matrix("maskedRowMeans", "x", x.shape)
    try Check.same("maskedRowMeans", x.shape, [("mask", mask.shape)])
    var out = Tensor(zeros: [b])
    for i in 0..<b {
        var s = 0.0, n = 0
        for t in 0..<a where mask[flat: i * a + t] != 0 { s += Double(x[flat: i * a + t]); n += 1 }
        out[flat: i] = n == 0 ? 0 : Float(s / Double(n))
    }
    return out
}

/// Masked variance over all valid entries:
///   var = Σ (x - mean)² / n          (unbiased: false)
///   var = Σ (x - mean)² / (n - 1)    (unbiased: true, TRL's default Bessel correction)
/// Throws when there are no valid entries, or only one with `unbiased`.
public func maskedVariance(_ x: Tensor, mask: Tensor, unbiased: Bool = true) throws(TensorError) -> Float {
    Float(try doubleMoments(x, mask, unbiased: unbiased, op: "maskedVariance").variance)
}

/// Whitening over the valid entries of the whole batch (TRL `masked_whiten`):
///   y = (x - mean) / sqrt(var + eps)  (+ mean again when `shiftMean` is false),
/// then y = 0 where mask == 0 (docs/algorithms.md §4.4: mask after whitening). mean and var are masked;
/// var is unbiased by default, so the valid entries of y have sample std 1.
/// x, mask: (B, A) -> (B, A).
public func whiten(_ x: Tensor, mask: Tensor, shiftMean: Bool = true, unbiased: Bool = true, eps: Float = 1e-8) throws(TensorError) -> Tensor {
    let (mean, variance) = try doubleMoments(x, mask, unbiased: unbiased, op: "whiten")
    return try whiten(x, mask: mask, mean: mean, variance: variance, shiftMean: shiftMean, eps: eps)
}

/// The same whitening with the moments given: for moments taken over a larger batch than `x`
/// (data-parallel ranks reduce `maskedPartialSums` / `maskedSquaredDeviations` across ranks).
/// x, mask: (B, A) -> (B, A).
public func whiten(_ x: Tensor, mask: Tensor, mean: Double, variance: Double, shiftMean: Bool = true,
                   eps: Float = 1e-8) throws(TensorError) -> Tensor {
    // Non-finite moments are not refused here: they give a non-finite result, which the trainers'
    // finiteness checks report naming the iteration (as before this overload existed).
    try Check.same("whiten", x.shape, [("mask", mask.shape)])
    let inv = 1 / (variance + Double(eps)).squareRoot()
    var y = Tensor(zeros: x.shape)
    for i in 0..<x.count where mask[flat: i] != 0 {
        let w = (Double(x[flat: i]) - mean) * inv
        y[flat: i] = Float(shiftMean ? w : w + mean)
    }
    return y
}

/// Fraction of the return's variance the value function explains, over valid tokens:
///   ev = 1 - Var[R - V] / Var[R]
/// (1: perfect, 0: no better than a constant, < 0: worse). NaN when Var[R] = 0, as in
/// Stable-Baselines3. Biased variances (the Bessel factor cancels in the ratio).
/// values V, returns R, mask: (B, A).
public func explainedVariance(values: Tensor, returns: Tensor, mask: Tensor) throws(TensorError) -> Float {
    try Check.same("explainedVariance", returns.shape, [("values", values.shape), ("mask", mask.shape)])
    var diff = returns
    for i in 0..<diff.count { diff[flat: i] = returns[flat: i] - values[flat: i] }
    let varR = try doubleMoments(returns, mask, unbiased: false, op: "explainedVariance").variance
    let varD = try doubleMoments(diff, mask, unbiased: false, op: "explainedVariance").variance
    guard varR > 0 else { return .nan }
    return Float(1 - varD / varR)
}

// MARK: - Differentiable

/// Masked mean of a Variable to a scalar: Σ x m / Σ m (m = 1 where mask != 0), with
/// d/dx = m / Σ m. The reduction every RLMath loss ends with. Throws on an all-zero mask.
public func maskedMean(_ x: Variable, mask: Tensor) throws(TensorError) -> Variable {
    try Check.same("maskedMean", x.shape, [("mask", mask.shape)])
    let n = try Check.validCount("maskedMean", mask)
    let y = Tensor(scalar: Float(doubleSum(x.value, mask) / Double(n)))
    let shape = x.shape
    return Tape.output(y, inputs: [x]) { g, _ in
        let w = g.item / Float(n)
        var d = Tensor(zeros: shape)
        for i in 0..<d.count where mask[flat: i] != 0 { d[flat: i] = w }
        return [d]
    }
}

// MARK: - Partial sums (the pieces a data-parallel reduction adds across ranks)

/// (Σ x, n) over entries where mask != 0, in Double; n may be 0 (a rank's shard can be all padding).
public func maskedPartialSums(_ x: Tensor, mask: Tensor) throws(TensorError) -> (sum: Double, count: Int) {
    try Check.same("maskedPartialSums", x.shape, [("mask", mask.shape)])
    var n = 0
    mask.withUnsafeBufferPointer { m in for v in m where v != 0 { n += 1 } }
    return (doubleSum(x, mask), n)
}

/// Σ (x - mean)² over entries where mask != 0, in Double: the second pass of the two-pass variance.
public func maskedSquaredDeviations(_ x: Tensor, mask: Tensor, about mean: Double) throws(TensorError) -> Double {
    try Check.same("maskedSquaredDeviations", x.shape, [("mask", mask.shape)])
    return doubleSquaredDeviations(x, mask, mean)
}

// MARK: - Helpers

func doubleSum(_ x: Tensor, _ mask: Tensor) -> Double {
    var s = 0.0
    for i in 0..<x.count where mask[flat: i] != 0 { s += Double(x[flat: i]) }
    return s
}

func doubleSquaredDeviations(_ x: Tensor, _ mask: Tensor, _ mean: Double) -> Double {
    var ss = 0.0
    for i in 0..<x.count where mask[flat: i] != 0 { let d = Double(x[flat: i]) - mean; ss += d * d }
    return ss
}

func doubleMoments(_ x: Tensor, _ mask: Tensor, unbiased: Bool, op: String) throws(TensorError) -> (mean: Double, variance: Double) {
    try Check.same(op, x.shape, [("mask", mask.shape)])
    let n = try Check.validCount(op, mask)
    if unbiased && n < 2 {
        throw .invalidArgument(op: op, detail: "the unbiased variance needs at least 2 valid entries, mask has \(n)")
    }
    let mean = doubleSum(x, mask) / Double(n)
    return (mean, doubleSquaredDeviations(x, mask, mean) / Double(unbiased ? n - 1 : n))
}
