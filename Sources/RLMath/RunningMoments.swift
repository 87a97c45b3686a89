// Running mean and standard deviation of all values seen so far, merged batch by batch with
// Chan et al.'s parallel algorithm (TRL `RunningMoments`), for reward normalisation.
// Codable: it lives in checkpoints. Double state; batches are Float.
// Leaves out: exponential forgetting (every value counts equally), distributed all-reduce.

public struct RunningMoments: Codable, Sendable, Equatable {
    public private(set) var mean: Double = 0
    /// Population variance of everything seen.
    public private(set) var variance: Double = 1
    /// Sample (Bessel-corrected) standard deviation of everything seen.
    public private(set) var std: Double = 1
    /// Values seen (starts at 1e-24, as TRL, so the first merge needs no special case).
    public private(set) var count: Double = 1e-24

    public init() {}

    /// Merges a batch; returns the batch's own mean and sample std (as TRL does).
    @discardableResult
    public mutating func update(_ xs: [Float]) -> (mean: Double, std: Double) {
        let n = Double(xs.count)
        guard n > 0 else { return (.nan, .nan) }
        var s = 0.0
        for x in xs { s += Double(x) }
        let batchMean = s / n
        var ss = 0.0
        for x in xs { ss += (Double(x) - batchMean) * (Double(x) - batchMean) }
        let batchVar = ss / n                                       // population
        // Chan: M2 = M2_a + M2_b + delta² n_a n_b / (n_a + n_b)
        let delta = batchMean - mean
        let total = count + n
        let m2 = variance * count + batchVar * n + delta * delta * count * n / total
        mean += delta * n / total
        variance = m2 / total
        std = total > 1 ? (variance * total / (total - 1)).squareRoot() : variance.squareRoot()
        count = total
        return (batchMean, n > 1 ? (batchVar * n / (n - 1)).squareRoot() : 0)
    }

    /// (x - mean) / std, elementwise (or x / std without `shiftMean`).
    public func normalize(_ xs: [Float], shiftMean: Bool = true) -> [Float] {
        xs.map { Float(((Double($0) - (shiftMean ? mean : 0)) / std)) }
    }
}
