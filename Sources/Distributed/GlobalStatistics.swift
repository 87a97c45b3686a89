// Statistics over the global batch from each rank's shard: masked mean, moments and whitening
// (advantage whitening, reward normalisation, the KL controller's mean KL). Each rank adds its
// partial sums in Double and allreduces them; the variance is two-pass like RLMath's, so the
// result equals the 1-rank value up to Double rounding. Leaves out per-group statistics (groups
// never straddle ranks, see GlobalBatch) and weighted masks.
import RLMath
import TensorCore

/// Mean, variance and valid-entry count over every rank's valid entries.
public struct GlobalMoments: Sendable, Equatable {
    public var mean: Double
    public var variance: Double
    public var count: Int
}

extension Communicator {
    /// (Σ x, n) over the valid entries of every rank's (x, mask).
    public func maskedSums(_ x: Tensor, mask: Tensor) throws -> (sum: Double, count: Int) {
        let local = try maskedPartialSums(x, mask: mask)
        var v = [local.sum, Double(local.count)]
        try allreduce(&v, .sum)
        return (v[0], Int(v[1]))
    }

    /// Σ x / n over the valid entries of every rank; throws when no rank has one.
    public func maskedMean(_ x: Tensor, mask: Tensor) throws -> Double {
        let (sum, n) = try maskedSums(x, mask: mask)
        guard n > 0 else { throw DistributedError.invalidArgument(call: "maskedMean", detail: "no rank has a valid mask entry") }
        return sum / Double(n)
    }

    /// Two-pass mean and variance (Bessel-corrected when `unbiased`, as RLMath's) over every rank.
    public func maskedMoments(_ x: Tensor, mask: Tensor, unbiased: Bool = true) throws -> GlobalMoments {
        let (sum, n) = try maskedSums(x, mask: mask)
        guard n > (unbiased ? 1 : 0) else {
            throw DistributedError.invalidArgument(call: "maskedMoments", detail: "\(n) valid entries over all ranks; "
                + (unbiased ? "the unbiased variance needs at least 2" : "need at least 1"))
        }
        let mean = sum / Double(n)
        let squares = try allreduce(try maskedSquaredDeviations(x, mask: mask, about: mean), .sum)
        return GlobalMoments(mean: mean, variance: squares / Double(unbiased ? n - 1 : n), count: n)
    }

    /// RLMath's `whiten` with the moments of the global batch: every rank's shard comes out as
    /// the same rows of a 1-rank whitening of the whole batch. x, mask: (B_local, A).
    public func whiten(_ x: Tensor, mask: Tensor, shiftMean: Bool = true, unbiased: Bool = true, eps: Float = 1e-8) throws -> Tensor {
        let m = try maskedMoments(x, mask: mask, unbiased: unbiased)
        return try RLMath.whiten(x, mask: mask, mean: m.mean, variance: m.variance, shiftMean: shiftMean, eps: eps)
    }
}
