// Broadcasting (NumPy rules: shapes aligned on the right, size-1 axes stretch) for the
// binary ops, and its adjoint: summing a gradient back down to an operand's shape.
// Fast paths for equal shapes, scalars and trailing blocks (bias vectors); a general
// strided loop for everything else.

enum Broadcast {
    /// The broadcast result shape, or a mismatch naming both operand shapes.
    static func shape(_ a: [Int], _ b: [Int], op: String) throws(TensorError) -> [Int] {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            guard da == db || da == 1 || db == 1 else {
                throw .shapeMismatch(op: op, detail: "\(shapeString(a)) and \(shapeString(b)) do not broadcast (axis \(i): \(da) vs \(db))")
            }
            out[i] = max(da, db)
        }
        return out
    }

    /// Row-major strides of `shape` padded to `rank`, with 0 on broadcast (size-1) axes.
    static func strides(_ shape: [Int], rank: Int, outShape: [Int]) -> [Int] {
        var s = [Int](repeating: 0, count: rank)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let axis = i + rank - shape.count
            s[axis] = (shape[i] == 1 && outShape[axis] != 1) ? 0 : acc
            acc *= shape[i]
        }
        return s
    }

    /// If `small` broadcasts against `big` only as a trailing block (e.g. (C) vs (B, T, C)),
    /// its element count; else nil.
    static func trailingBlock(_ small: [Int], of big: [Int]) -> Int? {
        var s = small
        while let f = s.first, f == 1, s.count > 0 { s.removeFirst() }
        guard s.count <= big.count, Array(big.suffix(s.count)) == s else { return nil }
        return Tensor.elementCount(s)
    }

    /// out = f(a, b) with broadcasting to `outShape`.
    @inline(__always)
    static func apply(_ a: Tensor, _ b: Tensor, outShape: [Int], _ f: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>) -> Tensor {
        var out = Tensor(uninitializedShape: outShape)
        let op = out.storage.pointer, n = out.count
        let ap = a.pointer, bp = b.pointer
        if a.shape == outShape && b.shape == outShape {
            Kernels.zip(ap, bp, op, n, f)
        } else if b.count == 1, a.shape == outShape {
            let bv = SIMD16<Float>(repeating: bp[0])
            Kernels.map(ap, op, n) { f($0, bv) }
        } else if a.count == 1, b.shape == outShape {
            let av = SIMD16<Float>(repeating: ap[0])
            Kernels.map(bp, op, n) { f(av, $0) }
        } else if a.shape == outShape, let inner = trailingBlock(b.shape, of: outShape), inner > 0 {
            for r in 0..<(n / inner) { Kernels.zip(ap + r * inner, bp, op + r * inner, inner, f) }
        } else if b.shape == outShape, let inner = trailingBlock(a.shape, of: outShape), inner > 0 {
            for r in 0..<(n / inner) { Kernels.zip(ap, bp + r * inner, op + r * inner, inner, f) }
        } else {
            general(ap, a.shape, bp, b.shape, op, outShape, f)
        }
        return out
    }

    static func general(_ ap: UnsafePointer<Float>, _ aShape: [Int], _ bp: UnsafePointer<Float>, _ bShape: [Int],
                        _ op: UnsafeMutablePointer<Float>, _ outShape: [Int], _ f: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>) {
        let r = outShape.count
        let sa = strides(aShape, rank: r, outShape: outShape), sb = strides(bShape, rank: r, outShape: outShape)
        var idx = [Int](repeating: 0, count: r)
        for i in 0..<Tensor.elementCount(outShape) {
            var oa = 0, ob = 0
            for d in 0..<r { oa += idx[d] * sa[d]; ob += idx[d] * sb[d] }
            op[i] = f(SIMD16(repeating: ap[oa]), SIMD16(repeating: bp[ob]))[0]
            var d = r - 1
            while d >= 0 { idx[d] += 1; if idx[d] < outShape[d] { break }; idx[d] = 0; d -= 1 }
        }
    }

    /// Sums `g` (of the broadcast shape) down to `shape`: the adjoint of broadcasting.
    static func reduce(_ g: Tensor, to shape: [Int]) -> Tensor {
        if g.shape == shape { return g }
        let gp = g.pointer, n = g.count
        var out = Tensor(zeros: shape)
        let op = out.storage.pointer
        if out.count == 1 {
            var s = 0.0
            for i in 0..<n { s += Double(gp[i]) }
            op[0] = Float(s)
        } else if let inner = trailingBlock(shape, of: g.shape), inner == out.count {
            for r in 0..<(n / inner) { Kernels.zip(op, gp + r * inner, op, inner) { $0 + $1 } }
        } else {
            let r = g.rank
            let so = strides(shape, rank: r, outShape: g.shape)
            var idx = [Int](repeating: 0, count: r)
            for i in 0..<n {
                var o = 0
                for d in 0..<r { o += idx[d] * so[d] }
                op[o] += gp[i]
                var d = r - 1
                while d >= 0 { idx[d] += 1; if idx[d] < g.shape[d] { break }; idx[d] = 0; d -= 1 }
            }
        }
        return out
    }
}
