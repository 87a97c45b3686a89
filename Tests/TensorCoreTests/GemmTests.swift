// Gemm.multiply (packed, threaded, small-M paths) against its plain twin multiplyNaive:
// all four transpositions, edge sizes around the 12 x 32 tile and 256-deep blocks, padded
// leading dimensions, alpha/beta, NaN-filled C with beta = 0, empty dimensions.
// Leaves out: speed (rlhf-bench core measures it).
import Testing
import TensorCore

@Suite struct GemmTests {
    /// Deterministic values in [-1, 1) from a 64-bit LCG, so failures reproduce.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int32(truncatingIfNeeded: state >> 33)) / Float(1 << 30) - 1
        }
    }

    struct Case: CustomStringConvertible {
        var m: Int, n: Int, k: Int
        var transA = false, transB = false
        var pad = 0            // extra columns in every leading dimension
        var alpha: Float = 1, beta: Float = 0
        var blocking = GemmBlocking.current
        var description: String {
            "m=\(m) n=\(n) k=\(k) \(transA ? "T" : "N")\(transB ? "T" : "N") pad=\(pad) alpha=\(alpha) beta=\(beta) \(blocking)"
        }
    }

    /// Runs both paths on the same inputs; reports the first differing index and the max diff.
    static func check(_ t: Case, pool: ThreadPool = .shared) {
        let aRows = t.transA ? t.k : t.m, aCols = t.transA ? t.m : t.k
        let bRows = t.transB ? t.n : t.k, bCols = t.transB ? t.k : t.n
        let lda = aCols + t.pad, ldb = bCols + t.pad, ldc = t.n + t.pad
        let a = values(max(1, aRows * lda), seed: UInt64(t.m * 31 + t.k))
        let b = values(max(1, bRows * ldb), seed: UInt64(t.n * 17 + t.k + 5))
        // beta == 0 must not read C: fill it with NaN so a read would poison the result.
        let c0 = t.beta == 0 ? [Float](repeating: .nan, count: max(1, t.m * ldc)) : values(max(1, t.m * ldc), seed: 99)
        var fast = c0, slow = c0
        Gemm.multiply(m: t.m, n: t.n, k: t.k, a: a, lda: lda, transA: t.transA, b: b, ldb: ldb, transB: t.transB,
                      c: &fast, ldc: ldc, alpha: t.alpha, beta: t.beta, pool: pool, blocking: t.blocking)
        Gemm.multiplyNaive(m: t.m, n: t.n, k: t.k, a: a, lda: lda, transA: t.transA, b: b, ldb: ldb,
                           transB: t.transB, c: &slow, ldc: ldc, alpha: t.alpha, beta: t.beta)
        var firstBad: Int? = nil
        var maxDiff: Float = 0
        // fp32 accumulation in a different order: tolerance grows with sqrt(k).
        let tolerance = 1e-5 * Float(max(1, t.k)).squareRoot() * max(1, abs(t.alpha)) + 1e-6
        for i in 0..<t.m {
            for j in 0..<t.n {
                let index = i * ldc + j
                let diff = abs(fast[index] - slow[index])
                if !(diff <= tolerance) && firstBad == nil { firstBad = index }
                if diff.isNaN { maxDiff = .nan } else if !maxDiff.isNaN { maxDiff = max(maxDiff, diff) }
            }
            // Padding columns of C belong to someone else: never written.
            for j in t.n..<ldc {
                let index = i * ldc + j
                if !(fast[index] == c0[index] || (fast[index].isNaN && c0[index].isNaN)) && firstBad == nil {
                    firstBad = index
                }
            }
        }
        if let bad = firstBad {
            Issue.record("""
                \(t): first difference at C[\(bad / ldc), \(bad % ldc)] fast=\(fast[bad]) naive=\(slow[bad]) \
                (c0=\(c0[bad])), max abs diff \(maxDiff), tolerance \(tolerance)
                """)
        }
    }

    static let transpositions = [(false, false), (false, true), (true, false), (true, true)]

    @Test(arguments: [1, 7, 12, 13, 33, 65])
    func oddSizesAllTranspositions(size: Int) {
        for (ta, tb) in Self.transpositions {
            for (m, n, k) in [(size, size, size), (size, 37, 19), (29, size, 70), (size + 11, 2 * size + 3, size)] {
                Self.check(Case(m: m, n: n, k: k, transA: ta, transB: tb))
            }
        }
    }

    /// Bigger than one 144 x 2048 x 256 block in every direction, threaded, with ragged edges.
    @Test func blockEdgesAllTranspositions() {
        for (ta, tb) in Self.transpositions {
            Self.check(Case(m: 257, n: 300, k: 513, transA: ta, transB: tb))
            Self.check(Case(m: 150, n: 2085, k: 260, transA: ta, transB: tb, pad: 3, alpha: 0.5, beta: 0.25))
        }
    }

    /// Blockings other CPUs derive (GemmBlocking(cpu:)) and tiny ones that cut every loop into
    /// many blocks with ragged ends: several depth blocks accumulate onto C (beta applied once).
    @Test(arguments: [GemmBlocking(kc: 16, mc: 12, nc: 32), GemmBlocking(kc: 100, mc: 36, nc: 96),
                      GemmBlocking(kc: 1024, mc: 348, nc: 4096), GemmBlocking(kc: 128, mc: 24, nc: 256)])
    func otherBlockings(blocking: GemmBlocking) {
        for (ta, tb) in Self.transpositions {
            Self.check(Case(m: 257, n: 300, k: 513, transA: ta, transB: tb, blocking: blocking))
            Self.check(Case(m: 61, n: 97, k: 250, transA: ta, transB: tb, pad: 3, alpha: 0.5, beta: 0.25,
                            blocking: blocking))
        }
    }

    /// The small-M path (m <= 24: groups of four rows, then single rows) and its boundary.
    @Test func smallRowsAllTranspositions() {
        for (ta, tb) in Self.transpositions {
            for m in [1, 2, 3, 4, 5, 7, 8, 9, 13, 24, 25] {
                Self.check(Case(m: m, n: 129, k: 67, transA: ta, transB: tb, pad: 5, alpha: 1.5, beta: -2))
                Self.check(Case(m: m, n: 1000, k: 300, transA: ta, transB: tb))
            }
        }
    }

    @Test func leadingDimensionsLargerThanRows() {
        for (ta, tb) in Self.transpositions {
            for pad in [1, 16, 64] {
                Self.check(Case(m: 40, n: 70, k: 33, transA: ta, transB: tb, pad: pad))
                Self.check(Case(m: 64, n: 64, k: 64, transA: ta, transB: tb, pad: pad, beta: 1))
            }
        }
    }

    @Test func alphaAndBeta() {
        for (ta, tb) in Self.transpositions {
            for (alpha, beta) in [(Float(1), Float(1)), (2, 0), (-0.5, 3), (0, 1), (1, -1)] {
                Self.check(Case(m: 45, n: 77, k: 300, transA: ta, transB: tb, alpha: alpha, beta: beta))
            }
        }
    }

    /// beta = 0 over NaN-filled C (every `check` with beta 0 does this; here on full tiles
    /// too, which take the direct-store path of the micro-kernel).
    @Test func betaZeroIgnoresNaNInC() {
        Self.check(Case(m: 24, n: 64, k: 16))
        Self.check(Case(m: 1024, n: 96, k: 8, transA: true))
    }

    @Test func emptyDimensions() {
        for (ta, tb) in Self.transpositions {
            Self.check(Case(m: 0, n: 5, k: 3, transA: ta, transB: tb))
            Self.check(Case(m: 5, n: 0, k: 3, transA: ta, transB: tb))
            Self.check(Case(m: 5, n: 7, k: 0, transA: ta, transB: tb))                 // C = 0 over NaN
            Self.check(Case(m: 20, n: 40, k: 0, transA: ta, transB: tb, pad: 2, beta: 0.5))  // C = beta C
        }
    }

    /// A private 3-thread pool: uneven splits and more tasks than a 2-core machine has.
    @Test func explicitPool() {
        let pool = ThreadPool(threadCount: 3)
        for (ta, tb) in Self.transpositions {
            Self.check(Case(m: 200, n: 161, k: 90, transA: ta, transB: tb), pool: pool)
            Self.check(Case(m: 300, n: 40, k: 100, transA: ta, transB: tb), pool: pool)
        }
    }
}
