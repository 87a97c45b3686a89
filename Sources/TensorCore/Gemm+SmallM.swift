// GEMM for a few rows of C (M <= 8: decode steps, tiny batches). Memory-bound on B, so it
// skips packing and reads op(B) in place: row sweeps (axpy form) when B is k x n, dot
// products when B is stored transposed. Leaves out: a tuned decode matvec (comes later).

extension Gemm {
    /// Up to this many rows of C take this path instead of the packed one.
    static let smallRowLimit = 8

    static func multiplySmallM(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float, beta: Float, pool: ThreadPool
    ) {
        // op(A) rows, contiguous: (m, k). Tiny next to B, so always copy.
        let aRows = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
        defer { aRows.deallocate() }
        for i in 0..<m {
            for p in 0..<k { aRows[i * k + p] = transA ? a[p * lda + i] : a[i * lda + p] }
        }
        let threads = m * n * k >= parallelThreshold ? pool.threadCount : 1
        let unit = 64
        let units = (n + unit - 1) / unit
        let tasks = max(1, min(threads, units))
        let operands = UncheckedSendable((UnsafePointer(aRows), b, c))
        let block = { (task: Int) in
            let lo = units * task / tasks * unit
            let hi = min(n, units * (task + 1) / tasks * unit)
            guard lo < hi else { return }
            let (a, b, c) = operands.value
            for i in 0..<m {
                if transB {
                    dotRow(k: k, a: a + i * k, b: b, ldb: ldb, cols: lo..<hi, c: c + i * ldc, alpha: alpha, beta: beta)
                } else {
                    axpyRow(k: k, a: a + i * k, b: b, ldb: ldb, cols: lo..<hi, c: c + i * ldc, alpha: alpha, beta: beta)
                }
            }
        }
        if tasks == 1 { block(0) } else { pool.parallelFor(tasks, block) }
    }

    @inline(__always)
    static func finish(_ acc: Float, _ c: UnsafeMutablePointer<Float>, _ alpha: Float, _ beta: Float) {
        c.pointee = beta == 0 ? alpha * acc : alpha * acc + beta * c.pointee
    }

    @inline(__always)
    static func finish(_ acc: SIMD16<Float>, _ c: UnsafeMutablePointer<Float>, _ alpha: Float, _ beta: Float) {
        let raw = UnsafeMutableRawPointer(c)
        var out = acc * alpha
        if beta != 0 { out = out.addingProduct(beta, UnsafeRawPointer(raw).loadUnaligned(as: SIMD16<Float>.self)) }
        raw.storeBytes(of: out, as: SIMD16<Float>.self)
    }

    /// c[cols] = alpha * sum_p a[p] * B[p, cols] + beta * c[cols], 64 columns at a time
    /// (four independent FMA chains hide the FMA latency).
    static func axpyRow(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                        cols: Range<Int>, c: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        var j = cols.lowerBound
        while j + 64 <= cols.upperBound {
            var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
            for p in 0..<k {
                let row = UnsafeRawPointer(b + p * ldb + j)
                let x = SIMD16<Float>(repeating: a[p])
                s0.addProduct(x, row.loadUnaligned(as: SIMD16<Float>.self))
                s1.addProduct(x, row.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                s2.addProduct(x, row.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self))
                s3.addProduct(x, row.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self))
            }
            finish(s0, c + j, alpha, beta); finish(s1, c + j + 16, alpha, beta)
            finish(s2, c + j + 32, alpha, beta); finish(s3, c + j + 48, alpha, beta)
            j += 64
        }
        while j + 16 <= cols.upperBound {
            var s = SIMD16<Float>()
            for p in 0..<k { s.addProduct(SIMD16(repeating: a[p]), UnsafeRawPointer(b + p * ldb + j).loadUnaligned(as: SIMD16<Float>.self)) }
            finish(s, c + j, alpha, beta)
            j += 16
        }
        while j < cols.upperBound {
            var s: Float = 0
            for p in 0..<k { s += a[p] * b[p * ldb + j] }
            finish(s, c + j, alpha, beta)
            j += 1
        }
    }

    /// c[j] = alpha * dot(a, B[j, 0..<k]) + beta * c[j] for j in cols.
    static func dotRow(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                       cols: Range<Int>, c: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        let ra = UnsafeRawPointer(a)
        for j in cols {
            let row = b + j * ldb, rb = UnsafeRawPointer(row)
            var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
            var p = 0
            while p + 32 <= k {
                s0.addProduct(ra.loadUnaligned(fromByteOffset: 4 * p, as: SIMD16<Float>.self),
                              rb.loadUnaligned(fromByteOffset: 4 * p, as: SIMD16<Float>.self))
                s1.addProduct(ra.loadUnaligned(fromByteOffset: 4 * p + 64, as: SIMD16<Float>.self),
                              rb.loadUnaligned(fromByteOffset: 4 * p + 64, as: SIMD16<Float>.self))
                p += 32
            }
            // Reduce by halves: `.sum()` is slow (PERF-NOTES).
            let v16 = s0 + s1
            let v8 = v16.lowHalf + v16.highHalf, v4 = v8.lowHalf + v8.highHalf, v2 = v4.lowHalf + v4.highHalf
            var s = v2[0] + v2[1]
            while p < k { s += a[p] * row[p]; p += 1 }
            finish(s, c + j, alpha, beta)
        }
    }
}
