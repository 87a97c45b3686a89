// Seeded shuffling and the train/eval split, on `TensorCore.Philox`: a permutation is a
// pure function of (seed, stream), so epoch e's order is recomputed on resume instead of
// saved. Fisher-Yates with unbiased bounded draws (rejection), written here rather than
// via `shuffled(using:)` so the order cannot change with the standard library.
import Foundation
import TensorCore

public enum Shuffle {
    /// Stream of the train/eval split; epoch e shuffles with stream e (see `EpochSampler`).
    public static let splitStream: UInt64 = 0x5350_4C49_5400_0000

    /// A uniformly random permutation of 0..<count.
    public static func permutation(count: Int, seed: UInt64, stream: UInt64 = 0) -> [Int] {
        var rng = Philox(seed: seed, stream: stream)
        var p = Array(0..<count)
        if count < 2 { return p }
        for i in stride(from: count - 1, to: 0, by: -1) {
            p.swapAt(i, uniform(below: i + 1, rng: &rng))
        }
        return p
    }

    /// Uniform in 0..<n (n >= 1) without modulo bias.
    public static func uniform(below n: Int, rng: inout Philox) -> Int {
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound      // accept draws below a multiple of n
        while true {
            let x = rng.next()
            if x < limit { return Int(x % bound) }
        }
    }
}

/// Indices of the training and evaluation examples, each in increasing order.
public struct DataSplit: Sendable, Equatable, Codable {
    public var train: [Int]
    public var eval: [Int]

    /// Puts `evalCount` randomly chosen examples (by `seed`) in eval and the rest in train.
    public init(count: Int, evalCount: Int, seed: UInt64) throws {
        guard count > 0 else { throw DataError.invalidArgument("cannot split an empty dataset") }
        guard evalCount >= 0, evalCount < count else {
            throw DataError.invalidArgument("eval size \(evalCount) must be in 0..<\(count) (the dataset size)")
        }
        let p = Shuffle.permutation(count: count, seed: seed, stream: Shuffle.splitStream)
        eval = p.prefix(evalCount).sorted()
        train = p.dropFirst(evalCount).sorted()
    }

    /// `round(fraction * count)` eval examples, at least 1 when fraction > 0, and at least
    /// 1 training example.
    public init(count: Int, evalFraction: Double, seed: UInt64) throws {
        guard evalFraction >= 0, evalFraction < 1 else {
            throw DataError.invalidArgument("eval fraction must be in [0, 1), got \(evalFraction)")
        }
        var n = Int((evalFraction * Double(count)).rounded())
        if evalFraction > 0 { n = max(n, 1) }
        try self.init(count: count, evalCount: min(n, max(0, count - 1)), seed: seed)
    }
}
