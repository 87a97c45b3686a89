// TokenSampler: one row of logits -> one token. Order as in transformers: temperature,
// then top-k, then top-p, then a draw. Two log-probs are recorded per token:
//  - `logprob`: log softmax(logits / T)[token] over the FULL vocabulary (T = 1 when
//    greedy). This is exactly what a scoring forward computes, so PPO's old_logprobs
//    from rollout and from scoring agree (docs/algorithms.md §4.2 and §5 item 4: the choice we document).
//  - `samplingLogprob`: the log-probability under the truncated, renormalised
//    distribution the token was actually drawn from (equal to `logprob` without top-k/p).
import Foundation
import TensorCore

public struct SampledToken: Sendable, Equatable {
    public var token: Int32
    public var logprob: Float
    public var samplingLogprob: Float
}

public enum TokenSampler {
    public static func sample(_ logits: UnsafeBufferPointer<Float>, config: SamplingConfig, rng: inout Philox) -> SampledToken {
        let v = logits.count
        let t: Float = config.isGreedy ? 1 : config.temperature
        // Scaled logits and log-sum-exp over the full vocabulary (SIMD: this runs once per
        // row per decode step over the whole vocabulary).
        var scaled = [Float](repeating: 0, count: v)
        let lse: Float = scaled.withUnsafeMutableBufferPointer { sp in
            let out = sp.baseAddress!, inv = 1 / t
            Kernels.map(logits.baseAddress!, out, v) { $0 * inv }
            var m = -Float.infinity
            for i in 0..<v where out[i] > m { m = out[i] }
            let mv = SIMD16<Float>(repeating: m)
            var sum = 0.0, i = 0
            while i + 16 <= v {
                sum += Double(VectorMath.sum(VectorMath.exp(UnsafeRawPointer(out + i).loadUnaligned(as: SIMD16<Float>.self) - mv)))
                i += 16
            }
            while i < v { sum += Foundation.exp(Double(out[i] - m)); i += 1 }
            return m + Float(Foundation.log(sum))
        }

        if config.isGreedy {
            var best = 0
            for i in 1..<v where scaled[i] > scaled[best] { best = i }
            let lp = scaled[best] - lse
            return SampledToken(token: Int32(best), logprob: lp, samplingLogprob: 0)
        }

        // Candidates in descending probability when a truncation needs the order; the whole
        // vocabulary in index order otherwise.
        var candidates: [Int]
        if config.topK > 0 && config.topK < v {
            candidates = topK(scaled, config.topK)
        } else if config.topP < 1 {
            candidates = topPCandidates(scaled, lse: lse, p: config.topP)
        } else {
            candidates = Array(0..<v)
        }
        var probs = candidates.map { Foundation.exp(Double(scaled[$0] - lse)) }
        if config.topP < 1 {
            // transformers keeps a token when the mass of strictly more likely tokens is < p,
            // measured on the distribution after top-k (renormalised).
            let mass = probs.reduce(0, +)
            var before = 0.0, keep = 0
            while keep < probs.count && before / mass < Double(config.topP) { before += probs[keep]; keep += 1 }
            keep = max(keep, 1)
            candidates.removeSubrange(keep...); probs.removeSubrange(keep...)
        }
        let total = probs.reduce(0, +)
        let u = Double(rng.uniform()) * total
        var acc = 0.0, pick = candidates.count - 1
        for (i, p) in probs.enumerated() {
            acc += p
            if u < acc { pick = i; break }
        }
        let token = candidates[pick]
        return SampledToken(token: Int32(token), logprob: scaled[token] - lse,
                            samplingLogprob: Float(Foundation.log(probs[pick] / total)))
    }
}

extension TokenSampler {
    static func descending(_ x: [Float]) -> (Int, Int) -> Bool {
        { x[$0] > x[$1] || (x[$0] == x[$1] && $0 < $1) }
    }

    /// Indices of the k largest values, sorted descending (ties: lower index first).
    static func topK(_ x: [Float], _ k: Int) -> [Int] {
        // Threshold = the k-th largest value, found by quickselect on a copy.
        var vals = x
        var lo = 0, hi = vals.count - 1
        let target = k - 1
        while lo < hi {
            let pivot = vals[(lo + hi) / 2]
            var i = lo, j = hi
            while i <= j {
                while vals[i] > pivot { i += 1 }
                while vals[j] < pivot { j -= 1 }
                if i <= j { vals.swapAt(i, j); i += 1; j -= 1 }
            }
            if target <= j { hi = j } else if target >= i { lo = i } else { break }
        }
        let kth = vals[target]
        var picked = x.indices.filter { x[$0] > kth }
        for i in x.indices where x[i] == kth && picked.count < k { picked.append(i) }
        return picked.sorted(by: descending(x))
    }

    /// Tokens that can survive top-p, sorted descending. Exact: if the tokens with
    /// probability >= 1e-6 x max already hold mass >= p, no rarer token can be kept
    /// (its exclusive prefix mass is >= p), so only those need sorting.
    static func topPCandidates(_ x: [Float], lse: Float, p: Float) -> [Int] {
        let m = x.max() ?? 0
        let cut = m - 13.8155   // log(1e-6)
        var mass = 0.0
        var picked: [Int] = []
        for i in x.indices where x[i] >= cut {
            picked.append(i)
            mass += Foundation.exp(Double(x[i] - lse))
        }
        if mass < Double(p) { picked = Array(x.indices) }
        return picked.sorted(by: descending(x))
    }
}
