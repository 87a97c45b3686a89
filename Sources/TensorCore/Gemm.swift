// Gemm: the single entry point for dense matrix products, C = alpha * op(A) op(B) + beta * C,
// row-major with leading dimensions (so strided head slices need no copies).
// `multiply` dispatches to the packed, threaded path (Gemm+Packed.swift) or, for a few rows,
// to Gemm+SmallM.swift; `precision: .bf16` sends it to Gemm+BF16.swift where the CPU has a bf16
// kernel. `multiplyNaive` is the plain twin every fast path is tested against.

public enum Gemm {
    /// C (m x n, leading dim ldc) = alpha * op(A) (m x k) * op(B) (k x n) + beta * C.
    /// op(A) = A (m x k, lda >= k) or, if `transA`, Aᵀ where A is stored k x m (lda >= m).
    /// op(B) = B (k x n, ldb >= n) or, if `transB`, Bᵀ where B is stored n x k (ldb >= k).
    /// beta == 0 never reads C (it may hold garbage or NaN).
    /// Large products are split over `pool`; calling from inside a pool task is fine (it runs inline).
    /// `precision: .bf16` rounds A and B to bf16 (fp32 accumulation) when the CPU has a bf16 kernel
    /// and m is past the small-M limit; few-row products are memory-bound and stay fp32.
    /// `blocking` sizes the packed fp32 blocks (default: from this CPU's caches; small M ignores it).
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0,
        precision: Precision = .fp32,
        pool: ThreadPool = .shared, blocking: GemmBlocking = .current
    ) {
        guard m > 0 && n > 0 else { return }
        if precision == .bf16 && m > smallRowLimit && k > 0 && bf16Kernel != .fp32 {
            multiplyBF16(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                         c: c, ldc: ldc, alpha: alpha, beta: beta, kernel: bf16Kernel, pool: pool)
            return
        }
        if k == 0 {
            // Empty sum: C = beta * C, and beta == 0 must not read C.
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        if m <= smallRowLimit {
            multiplySmallM(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                           c: c, ldc: ldc, alpha: alpha, beta: beta, pool: pool)
        } else {
            multiplyPacked(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                           c: c, ldc: ldc, alpha: alpha, beta: beta, pool: pool, blocking: blocking)
        }
    }

    /// Triple loop, Double accumulation: slow, obviously right.
    public static func multiplyNaive(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var acc = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    acc += Double(av) * Double(bv)
                }
                let prior: Float = beta == 0 ? 0 : beta * c[i * ldc + j]
                c[i * ldc + j] = alpha * Float(acc) + prior
            }
        }
    }
}
