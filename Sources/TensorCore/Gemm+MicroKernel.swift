// The register-tile micro-kernel of the packed GEMM: a 12 x 32 block of C held in 24
// SIMD16<Float> accumulators, one k step = 2 B loads, 12 broadcasts, 24 FMAs.
// Leaves out: packing and edges (Gemm+Packed.swift pads panels with zeros, so this sees
// only full tiles). Needs `-target-cpu native`, or each FMA becomes a library call.

extension Gemm {
    /// Rows of the micro-tile (A panel height) and columns (B panel width).
    static let microRows = 12
    static let microCols = 32

    /// The 12 x 32 register tile: C[0..<12, 0..<32] = alpha * A * Bpanel + beta * C.
    /// A element (r, p) is read at `a[r * rowStride + p * depthStride]`: a packed panel
    /// (1, 12), or op(A) in place ((lda, 1) for A, (1, lda) for Aᵀ). `b` is a packed
    /// kc x 32 panel. 24 accumulators + 2 B vectors + 1 broadcast fit the 32 zmm registers.
    /// beta == 0 never reads C.
    @inline(__always)
    static func microKernel(_ kc: Int, _ a: UnsafePointer<Float>, _ rowStride: Int, _ depthStride: Int,
                            _ b: UnsafePointer<Float>,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
        var c0a = SIMD16<Float>(), c0b = SIMD16<Float>()
        var c1a = SIMD16<Float>(), c1b = SIMD16<Float>()
        var c2a = SIMD16<Float>(), c2b = SIMD16<Float>()
        var c3a = SIMD16<Float>(), c3b = SIMD16<Float>()
        var c4a = SIMD16<Float>(), c4b = SIMD16<Float>()
        var c5a = SIMD16<Float>(), c5b = SIMD16<Float>()
        var c6a = SIMD16<Float>(), c6b = SIMD16<Float>()
        var c7a = SIMD16<Float>(), c7b = SIMD16<Float>()
        var c8a = SIMD16<Float>(), c8b = SIMD16<Float>()
        var c9a = SIMD16<Float>(), c9b = SIMD16<Float>()
        var c10a = SIMD16<Float>(), c10b = SIMD16<Float>()
        var c11a = SIMD16<Float>(), c11b = SIMD16<Float>()
        var pa = a, pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let b0 = pb.load(as: SIMD16<Float>.self), b1 = pb.load(fromByteOffset: 64, as: SIMD16<Float>.self)
            let a0 = SIMD16<Float>(repeating: pa[0]); c0a.addProduct(a0, b0); c0b.addProduct(a0, b1)
            let a1 = SIMD16<Float>(repeating: pa[rowStride]); c1a.addProduct(a1, b0); c1b.addProduct(a1, b1)
            let a2 = SIMD16<Float>(repeating: pa[2 &* rowStride]); c2a.addProduct(a2, b0); c2b.addProduct(a2, b1)
            let a3 = SIMD16<Float>(repeating: pa[3 &* rowStride]); c3a.addProduct(a3, b0); c3b.addProduct(a3, b1)
            let a4 = SIMD16<Float>(repeating: pa[4 &* rowStride]); c4a.addProduct(a4, b0); c4b.addProduct(a4, b1)
            let a5 = SIMD16<Float>(repeating: pa[5 &* rowStride]); c5a.addProduct(a5, b0); c5b.addProduct(a5, b1)
            let a6 = SIMD16<Float>(repeating: pa[6 &* rowStride]); c6a.addProduct(a6, b0); c6b.addProduct(a6, b1)
            let a7 = SIMD16<Float>(repeating: pa[7 &* rowStride]); c7a.addProduct(a7, b0); c7b.addProduct(a7, b1)
            let a8 = SIMD16<Float>(repeating: pa[8 &* rowStride]); c8a.addProduct(a8, b0); c8b.addProduct(a8, b1)
            let a9 = SIMD16<Float>(repeating: pa[9 &* rowStride]); c9a.addProduct(a9, b0); c9b.addProduct(a9, b1)
            let a10 = SIMD16<Float>(repeating: pa[10 &* rowStride]); c10a.addProduct(a10, b0); c10b.addProduct(a10, b1)
            let a11 = SIMD16<Float>(repeating: pa[11 &* rowStride]); c11a.addProduct(a11, b0); c11b.addProduct(a11, b1)
            pa += depthStride; pb += 128
        }
        let va = SIMD16<Float>(repeating: alpha)
        if beta == 0 {
            storeRow(c + 0 * ldc, va * c0a, va * c0b)
            storeRow(c + 1 * ldc, va * c1a, va * c1b)
            storeRow(c + 2 * ldc, va * c2a, va * c2b)
            storeRow(c + 3 * ldc, va * c3a, va * c3b)
            storeRow(c + 4 * ldc, va * c4a, va * c4b)
            storeRow(c + 5 * ldc, va * c5a, va * c5b)
            storeRow(c + 6 * ldc, va * c6a, va * c6b)
            storeRow(c + 7 * ldc, va * c7a, va * c7b)
            storeRow(c + 8 * ldc, va * c8a, va * c8b)
            storeRow(c + 9 * ldc, va * c9a, va * c9b)
            storeRow(c + 10 * ldc, va * c10a, va * c10b)
            storeRow(c + 11 * ldc, va * c11a, va * c11b)
        } else {
            let vb = SIMD16<Float>(repeating: beta)
            updateRow(c + 0 * ldc, va * c0a, va * c0b, vb)
            updateRow(c + 1 * ldc, va * c1a, va * c1b, vb)
            updateRow(c + 2 * ldc, va * c2a, va * c2b, vb)
            updateRow(c + 3 * ldc, va * c3a, va * c3b, vb)
            updateRow(c + 4 * ldc, va * c4a, va * c4b, vb)
            updateRow(c + 5 * ldc, va * c5a, va * c5b, vb)
            updateRow(c + 6 * ldc, va * c6a, va * c6b, vb)
            updateRow(c + 7 * ldc, va * c7a, va * c7b, vb)
            updateRow(c + 8 * ldc, va * c8a, va * c8b, vb)
            updateRow(c + 9 * ldc, va * c9a, va * c9b, vb)
            updateRow(c + 10 * ldc, va * c10a, va * c10b, vb)
            updateRow(c + 11 * ldc, va * c11a, va * c11b, vb)
        }
    }


    @inline(__always)
    private static func storeRow(_ p: UnsafeMutablePointer<Float>, _ x: SIMD16<Float>, _ y: SIMD16<Float>) {
        let raw = UnsafeMutableRawPointer(p)
        raw.storeBytes(of: x, as: SIMD16<Float>.self)
        raw.storeBytes(of: y, toByteOffset: 64, as: SIMD16<Float>.self)
    }

    /// p[0..<32] = x ++ y + beta * p[0..<32]
    @inline(__always)
    private static func updateRow(_ p: UnsafeMutablePointer<Float>, _ x: SIMD16<Float>, _ y: SIMD16<Float>,
                          _ beta: SIMD16<Float>) {
        let raw = UnsafeMutableRawPointer(p)
        let old0 = UnsafeRawPointer(raw).loadUnaligned(as: SIMD16<Float>.self)
        let old1 = UnsafeRawPointer(raw).loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        raw.storeBytes(of: x.addingProduct(beta, old0), as: SIMD16<Float>.self)
        raw.storeBytes(of: y.addingProduct(beta, old1), toByteOffset: 64, as: SIMD16<Float>.self)
    }
}
