// GEMM for a few rows of C (decode steps, tiny batches): memory-bound on B, so it skips
// packing and reads op(B) in place, four rows of C per pass over B: row sweeps (axpy form)
// when B is k x n, dot products when B is stored transposed (n x k).
// Leaves out: a tuned decode matvec (comes later).

extension Gemm {
    /// Up to this many rows of C take this path instead of the packed one: below it, packing
    /// B (k x n floats) costs more than the product saves (measured at k 768, n 3072: this
    /// path 60-90 GFLOP/s up to m = 24, the packed one 25-70).
    static let smallRowLimit = 24

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
            // Column chunks small enough to stay in L2 while every row group passes over
            // them: B is read from memory once, whatever m is.
            let chunk = max(16, min(256, (256 << 10) / max(1, k * 4)) & ~15)
            var j0 = lo
            while j0 < hi {
                let cols = j0..<min(hi, j0 + chunk)
                // Four rows at a time share every B load; leftover rows go one by one.
                var i = 0
                while i < m {
                    let rows = m - i >= 4 ? 4 : 1
                    let ai = a + i * k, ci = c + i * ldc
                    switch (transB, rows) {
                    case (true, 4): dotRows4(k: k, a: ai, b: b, ldb: ldb, cols: cols, c: ci, ldc: ldc, alpha: alpha, beta: beta)
                    case (true, _): dotRow(k: k, a: ai, b: b, ldb: ldb, cols: cols, c: ci, alpha: alpha, beta: beta)
                    case (false, 4): axpyRows4(k: k, a: ai, b: b, ldb: ldb, cols: cols, c: ci, ldc: ldc, alpha: alpha, beta: beta)
                    case (false, _): axpyRow(k: k, a: ai, b: b, ldb: ldb, cols: cols, c: ci, alpha: alpha, beta: beta)
                    }
                    i += rows
                }
                j0 = cols.upperBound
            }
        }
        if tasks == 1 { block(0) } else { pool.parallelFor(tasks, block) }
    }

    @inline(__always)
    private static func finish(_ acc: Float, _ c: UnsafeMutablePointer<Float>, _ alpha: Float, _ beta: Float) {
        c.pointee = beta == 0 ? alpha * acc : alpha * acc + beta * c.pointee
    }

    @inline(__always)
    private static func finish(_ acc: SIMD16<Float>, _ c: UnsafeMutablePointer<Float>, _ alpha: Float, _ beta: Float) {
        let raw = UnsafeMutableRawPointer(c)
        var out = acc * alpha
        if beta != 0 { out = out.addingProduct(beta, UnsafeRawPointer(raw).loadUnaligned(as: SIMD16<Float>.self)) }
        raw.storeBytes(of: out, as: SIMD16<Float>.self)
    }

    /// Horizontal sum by halves (`.sum()` is slow, PERF-NOTES).
    @inline(__always)
    private static func total(_ v: SIMD16<Float>) -> Float {
        let v8 = v.lowHalf + v.highHalf, v4 = v8.lowHalf + v8.highHalf, v2 = v4.lowHalf + v4.highHalf
        return v2[0] + v2[1]
    }

    @inline(__always)
    private static func load16(_ p: UnsafePointer<Float>, _ offset: Int = 0) -> SIMD16<Float> {
        UnsafeRawPointer(p + offset).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Rows 0..<4 of c[cols] (a: 4 x k, contiguous) = alpha * a B[:, cols] + beta * c, 64
    /// columns at a time: 16 accumulators, each B vector feeds four FMAs.
    private static func axpyRows4(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                          cols: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float) {
        var j = cols.lowerBound
        while j + 64 <= cols.upperBound {
            var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s02 = SIMD16<Float>(), s03 = SIMD16<Float>()
            var s10 = SIMD16<Float>(), s11 = SIMD16<Float>(), s12 = SIMD16<Float>(), s13 = SIMD16<Float>()
            var s20 = SIMD16<Float>(), s21 = SIMD16<Float>(), s22 = SIMD16<Float>(), s23 = SIMD16<Float>()
            var s30 = SIMD16<Float>(), s31 = SIMD16<Float>(), s32 = SIMD16<Float>(), s33 = SIMD16<Float>()
            for p in 0..<k {
                let row = b + p * ldb + j
                let b0 = load16(row), b1 = load16(row, 16), b2 = load16(row, 32), b3 = load16(row, 48)
                let x0 = SIMD16<Float>(repeating: a[p]), x1 = SIMD16<Float>(repeating: a[k + p])
                let x2 = SIMD16<Float>(repeating: a[2 * k + p]), x3 = SIMD16<Float>(repeating: a[3 * k + p])
                s00.addProduct(x0, b0); s01.addProduct(x0, b1); s02.addProduct(x0, b2); s03.addProduct(x0, b3)
                s10.addProduct(x1, b0); s11.addProduct(x1, b1); s12.addProduct(x1, b2); s13.addProduct(x1, b3)
                s20.addProduct(x2, b0); s21.addProduct(x2, b1); s22.addProduct(x2, b2); s23.addProduct(x2, b3)
                s30.addProduct(x3, b0); s31.addProduct(x3, b1); s32.addProduct(x3, b2); s33.addProduct(x3, b3)
            }
            let c0 = c + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
            finish(s00, c0, alpha, beta); finish(s01, c0 + 16, alpha, beta); finish(s02, c0 + 32, alpha, beta); finish(s03, c0 + 48, alpha, beta)
            finish(s10, c1, alpha, beta); finish(s11, c1 + 16, alpha, beta); finish(s12, c1 + 32, alpha, beta); finish(s13, c1 + 48, alpha, beta)
            finish(s20, c2, alpha, beta); finish(s21, c2 + 16, alpha, beta); finish(s22, c2 + 32, alpha, beta); finish(s23, c2 + 48, alpha, beta)
            finish(s30, c3, alpha, beta); finish(s31, c3 + 16, alpha, beta); finish(s32, c3 + 32, alpha, beta); finish(s33, c3 + 48, alpha, beta)
            j += 64
        }
        for r in 0..<4 {
            axpyRow(k: k, a: a + r * k, b: b, ldb: ldb, cols: j..<cols.upperBound, c: c + r * ldc, alpha: alpha, beta: beta)
        }
    }

    /// c[cols] = alpha * sum_p a[p] * B[p, cols] + beta * c[cols], 128 columns at a time
    /// (eight independent FMA chains hide the FMA latency).
    private static func axpyRow(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                        cols: Range<Int>, c: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        var j = cols.lowerBound
        while j + 128 <= cols.upperBound {
            var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
            var s4 = SIMD16<Float>(), s5 = SIMD16<Float>(), s6 = SIMD16<Float>(), s7 = SIMD16<Float>()
            for p in 0..<k {
                let row = b + p * ldb + j
                let x = SIMD16<Float>(repeating: a[p])
                s0.addProduct(x, load16(row)); s1.addProduct(x, load16(row, 16))
                s2.addProduct(x, load16(row, 32)); s3.addProduct(x, load16(row, 48))
                s4.addProduct(x, load16(row, 64)); s5.addProduct(x, load16(row, 80))
                s6.addProduct(x, load16(row, 96)); s7.addProduct(x, load16(row, 112))
            }
            finish(s0, c + j, alpha, beta); finish(s1, c + j + 16, alpha, beta)
            finish(s2, c + j + 32, alpha, beta); finish(s3, c + j + 48, alpha, beta)
            finish(s4, c + j + 64, alpha, beta); finish(s5, c + j + 80, alpha, beta)
            finish(s6, c + j + 96, alpha, beta); finish(s7, c + j + 112, alpha, beta)
            j += 128
        }
        while j + 16 <= cols.upperBound {
            var s = SIMD16<Float>()
            for p in 0..<k { s.addProduct(SIMD16(repeating: a[p]), load16(b + p * ldb + j)) }
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

    /// Rows 0..<4 of c[j] = alpha * dot(a[r], B[j, 0..<k]) + beta * c[j]. Four rows of B
    /// at a time against the four rows of a: 8 loads feed 16 FMAs (a 4x1 form would need
    /// 5 loads per 4 FMAs and run load-bound).
    private static func dotRows4(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                         cols: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float) {
        let a0 = a, a1 = a + k, a2 = a + 2 * k, a3 = a + 3 * k
        let kv = k & ~15
        var j = cols.lowerBound
        while j + 4 <= cols.upperBound {
            let w0 = b + j * ldb, w1 = w0 + ldb, w2 = w1 + ldb, w3 = w2 + ldb
            var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s02 = SIMD16<Float>(), s03 = SIMD16<Float>()
            var s10 = SIMD16<Float>(), s11 = SIMD16<Float>(), s12 = SIMD16<Float>(), s13 = SIMD16<Float>()
            var s20 = SIMD16<Float>(), s21 = SIMD16<Float>(), s22 = SIMD16<Float>(), s23 = SIMD16<Float>()
            var s30 = SIMD16<Float>(), s31 = SIMD16<Float>(), s32 = SIMD16<Float>(), s33 = SIMD16<Float>()
            var p = 0
            while p < kv {
                let x0 = load16(a0, p), x1 = load16(a1, p), x2 = load16(a2, p), x3 = load16(a3, p)
                let y0 = load16(w0, p), y1 = load16(w1, p), y2 = load16(w2, p), y3 = load16(w3, p)
                s00.addProduct(x0, y0); s01.addProduct(x0, y1); s02.addProduct(x0, y2); s03.addProduct(x0, y3)
                s10.addProduct(x1, y0); s11.addProduct(x1, y1); s12.addProduct(x1, y2); s13.addProduct(x1, y3)
                s20.addProduct(x2, y0); s21.addProduct(x2, y1); s22.addProduct(x2, y2); s23.addProduct(x2, y3)
                s30.addProduct(x3, y0); s31.addProduct(x3, y1); s32.addProduct(x3, y2); s33.addProduct(x3, y3)
                p += 16
            }
            // Lane r*4+q holds row r, column j+q (a SIMD vector, not an Array: no allocation).
            var d = SIMD16<Float>(total(s00), total(s01), total(s02), total(s03), total(s10), total(s11), total(s12), total(s13),
                                  total(s20), total(s21), total(s22), total(s23), total(s30), total(s31), total(s32), total(s33))
            while p < k {
                let ws = SIMD4<Float>(w0[p], w1[p], w2[p], w3[p])
                d += SIMD16(lowHalf: SIMD8(lowHalf: ws * a0[p], highHalf: ws * a1[p]),
                            highHalf: SIMD8(lowHalf: ws * a2[p], highHalf: ws * a3[p]))
                p += 1
            }
            for r in 0..<4 { for q in 0..<4 { finish(d[r * 4 + q], c + r * ldc + j + q, alpha, beta) } }
            j += 4
        }
        while j < cols.upperBound {
            let row = b + j * ldb
            var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
            var p = 0
            while p < kv {
                let x = load16(row, p)
                s0.addProduct(load16(a0, p), x); s1.addProduct(load16(a1, p), x)
                s2.addProduct(load16(a2, p), x); s3.addProduct(load16(a3, p), x)
                p += 16
            }
            var d0 = total(s0), d1 = total(s1), d2 = total(s2), d3 = total(s3)
            while p < k {
                let x = row[p]
                d0 += a0[p] * x; d1 += a1[p] * x; d2 += a2[p] * x; d3 += a3[p] * x
                p += 1
            }
            finish(d0, c + j, alpha, beta); finish(d1, c + ldc + j, alpha, beta)
            finish(d2, c + 2 * ldc + j, alpha, beta); finish(d3, c + 3 * ldc + j, alpha, beta)
            j += 1
        }
    }

    /// c[j] = alpha * dot(a, B[j, 0..<k]) + beta * c[j] for j in cols, four accumulators.
    private static func dotRow(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                       cols: Range<Int>, c: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        for j in cols {
            let row = b + j * ldb
            var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
            var p = 0
            while p + 64 <= k {
                s0.addProduct(load16(a, p), load16(row, p)); s1.addProduct(load16(a, p + 16), load16(row, p + 16))
                s2.addProduct(load16(a, p + 32), load16(row, p + 32)); s3.addProduct(load16(a, p + 48), load16(row, p + 48))
                p += 64
            }
            while p + 16 <= k {
                s0.addProduct(load16(a, p), load16(row, p))
                p += 16
            }
            var s = total((s0 + s1) + (s2 + s3))
            while p < k { s += a[p] * row[p]; p += 1 }
            finish(s, c + j, alpha, beta)
        }
    }
}
