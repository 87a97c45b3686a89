// Packing for the fast GEMM: op(B) into kc x 32 k-major panels and op(A) into kc x 12 ones
// (plain copies where the layout already runs along n or m, 16 x 16 register transposes
// where it runs along k). Leaves out: the micro-kernel and the loops (Gemm+Packed.swift).

extension Gemm {
    /// Packs op(B)[k0..<k0+kc, j0..<j0+nc] as ceil(nc/32) panels, each kc rows of 32 floats
    /// (k-major), zero-padded on the right.
    static func packB(_ b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                      k0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
        let nr = microCols
        var panel = dst
        for jp in stride(from: 0, to: nc, by: nr) {
            let width = min(nr, nc - jp)
            if !transB && width == nr {
                for p in 0..<kc {
                    let src = UnsafeRawPointer(b + (k0 + p) * ldb + j0 + jp)
                    let out = UnsafeMutableRawPointer(panel + p * nr)
                    out.storeBytes(of: src.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                    out.storeBytes(of: src.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self),
                                   toByteOffset: 64, as: SIMD16<Float>.self)
                }
            } else if !transB {
                for p in 0..<kc {
                    let src = b + (k0 + p) * ldb + j0 + jp, out = panel + p * nr
                    for q in 0..<width { out[q] = src[q] }
                    for q in width..<nr { out[q] = 0 }
                }
            } else {
                // op(B)[p][j] = B[j][p]: each B row is a contiguous run along k. Whole 16 x 16
                // blocks go through registers; the k tail and a narrow panel go element-wise.
                let rows = b + (j0 + jp) * ldb + k0
                var p = 0
                if width == nr {
                    while p + 16 <= kc {
                        transpose16(rows + p, ldb, into: panel + p * nr, nr)
                        transpose16(rows + 16 * ldb + p, ldb, into: panel + p * nr + 16, nr)
                        p += 16
                    }
                }
                for q in 0..<width {
                    let src = rows + q * ldb
                    for pp in p..<kc { panel[pp * nr + q] = src[pp] }
                }
                if width < nr {
                    for pp in 0..<kc { for q in width..<nr { panel[pp * nr + q] = 0 } }
                }
            }
            panel += kc * nr
        }
    }

    /// Packs op(A)[i0..<i0+mc, k0..<k0+kc] as ceil(mc/12) panels, each kc x 12 k-major,
    /// zero-padded at the bottom. Full panels of A (not Aᵀ) go through 16 x 16 register
    /// transposes whose 16-wide stores overlap by 4: the buffer needs 4 floats of slack.
    static func packA(_ a: UnsafePointer<Float>, lda: Int, transA: Bool,
                      i0: Int, mc: Int, k0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
        let mr = microRows
        var panel = dst
        for ip in stride(from: 0, to: mc, by: mr) {
            let height = min(mr, mc - ip)
            var p = 0
            if !transA && height == mr {
                let rows = a + (i0 + ip) * lda + k0
                while p + 16 <= kc {
                    transpose16(rows + p, lda, lastRow: mr - 1, into: panel + p * mr, mr)
                    p += 16
                }
            }
            if transA && height == mr {
                // Aᵀ: the 12 values of one k step are contiguous; 8 + 4 wide copies (a 16-wide
                // load could run past the end of A).
                let src = a + k0 * lda + i0 + ip
                while p < kc {
                    let row = UnsafeRawPointer(src + p * lda), out = UnsafeMutableRawPointer(panel + p * mr)
                    out.storeBytes(of: row.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                    out.storeBytes(of: row.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self),
                                   toByteOffset: 32, as: SIMD4<Float>.self)
                    p += 1
                }
            }
            while p < kc {
                let out = panel + p * mr
                for r in 0..<height {
                    out[r] = transA ? a[(k0 + p) * lda + i0 + ip + r] : a[(i0 + ip + r) * lda + k0 + p]
                }
                for r in height..<mr { out[r] = 0 }
                p += 1
            }
            panel += kc * mr
        }
    }

    /// dst[p * ldd + q] = src[q * lds + p] for p, q in 0..<16, through registers: four rounds
    /// of swapping bit h (8, 4, 2, 1) between row and column index, each a two-source
    /// shuffle (one `vpermt2ps`). Rows past `lastRow` repeat it (their lanes are junk that
    /// a narrower packing overwrites); stores go in ascending p, each 16 floats wide.
    @inline(__always)
    private static func transpose16(_ src: UnsafePointer<Float>, _ lds: Int, lastRow: Int = 15,
                            into dst: UnsafeMutablePointer<Float>, _ ldd: Int) {
        @inline(__always) func row(_ q: Int) -> SIMD16<Float> { load16(src + min(q, lastRow) * lds) }
        var r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5), r6 = row(6)
        var r7 = row(7), r8 = row(8), r9 = row(9), r10 = row(10), r11 = row(11), r12 = row(12)
        var r13 = row(13), r14 = row(14), r15 = row(15)
        (r0, r8) = interleave8(r0, r8); (r1, r9) = interleave8(r1, r9)
        (r2, r10) = interleave8(r2, r10); (r3, r11) = interleave8(r3, r11)
        (r4, r12) = interleave8(r4, r12); (r5, r13) = interleave8(r5, r13)
        (r6, r14) = interleave8(r6, r14); (r7, r15) = interleave8(r7, r15)
        (r0, r4) = interleave4(r0, r4); (r1, r5) = interleave4(r1, r5)
        (r2, r6) = interleave4(r2, r6); (r3, r7) = interleave4(r3, r7)
        (r8, r12) = interleave4(r8, r12); (r9, r13) = interleave4(r9, r13)
        (r10, r14) = interleave4(r10, r14); (r11, r15) = interleave4(r11, r15)
        (r0, r2) = interleave2(r0, r2); (r1, r3) = interleave2(r1, r3)
        (r4, r6) = interleave2(r4, r6); (r5, r7) = interleave2(r5, r7)
        (r8, r10) = interleave2(r8, r10); (r9, r11) = interleave2(r9, r11)
        (r12, r14) = interleave2(r12, r14); (r13, r15) = interleave2(r13, r15)
        (r0, r1) = interleave1(r0, r1); (r2, r3) = interleave1(r2, r3)
        (r4, r5) = interleave1(r4, r5); (r6, r7) = interleave1(r6, r7)
        (r8, r9) = interleave1(r8, r9); (r10, r11) = interleave1(r10, r11)
        (r12, r13) = interleave1(r12, r13); (r14, r15) = interleave1(r14, r15)
        store16(r0, dst); store16(r1, dst + ldd); store16(r2, dst + 2 * ldd); store16(r3, dst + 3 * ldd)
        store16(r4, dst + 4 * ldd); store16(r5, dst + 5 * ldd); store16(r6, dst + 6 * ldd)
        store16(r7, dst + 7 * ldd); store16(r8, dst + 8 * ldd); store16(r9, dst + 9 * ldd)
        store16(r10, dst + 10 * ldd); store16(r11, dst + 11 * ldd); store16(r12, dst + 12 * ldd)
        store16(r13, dst + 13 * ldd); store16(r14, dst + 14 * ldd); store16(r15, dst + 15 * ldd)
    }

    @inline(__always)
    private static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    private static func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    // Row i (bit h clear) and row i + h of a 16 x 16 block: swap the off-diagonal h x h
    // sub-blocks, i.e. bit h of the column index with bit h of the row index.
    @inline(__always)
    private static func interleave8(_ x: SIMD16<Float>, _ y: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>) {
        (SIMD16(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]),
         SIMD16(x[8], x[9], x[10], x[11], x[12], x[13], x[14], x[15], y[8], y[9], y[10], y[11], y[12], y[13], y[14], y[15]))
    }
    @inline(__always)
    private static func interleave4(_ x: SIMD16<Float>, _ y: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>) {
        (SIMD16(x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3], x[8], x[9], x[10], x[11], y[8], y[9], y[10], y[11]),
         SIMD16(x[4], x[5], x[6], x[7], y[4], y[5], y[6], y[7], x[12], x[13], x[14], x[15], y[12], y[13], y[14], y[15]))
    }
    @inline(__always)
    private static func interleave2(_ x: SIMD16<Float>, _ y: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>) {
        (SIMD16(x[0], x[1], y[0], y[1], x[4], x[5], y[4], y[5], x[8], x[9], y[8], y[9], x[12], x[13], y[12], y[13]),
         SIMD16(x[2], x[3], y[2], y[3], x[6], x[7], y[6], y[7], x[10], x[11], y[10], y[11], x[14], x[15], y[14], y[15]))
    }
    @inline(__always)
    private static func interleave1(_ x: SIMD16<Float>, _ y: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>) {
        (SIMD16(x[0], y[0], x[2], y[2], x[4], y[4], x[6], y[6], x[8], y[8], x[10], y[10], x[12], y[12], x[14], y[14]),
         SIMD16(x[1], y[1], x[3], y[3], x[5], y[5], x[7], y[7], x[9], y[9], x[11], y[11], x[13], y[13], x[15], y[15]))
    }
}
