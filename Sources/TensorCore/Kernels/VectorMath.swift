// VectorMath: SIMD16 polynomial exp/tanh/sigmoid used by every elementwise kernel.
// Written against PERF-NOTES pitfalls: no `clamped`, no SIMD Int rounding conversions,
// float<->int via bit casts. exp has ~2 ulp error on [-87.3, 88.4]; outside it saturates
// to 0 / +inf, and NaN propagates.

public enum VectorMath {
    public typealias V = SIMD16<Float>

    @inline(__always)
    public static func exp(_ x: V) -> V {
        let hi = V(repeating: 88.3762626647949), lo = V(repeating: -87.3365447505531)
        let xc = pointwiseMin(pointwiseMax(x, lo), hi)
        // n = round(x / ln2) by the 1.5 * 2^23 magic-number trick (exact for |n| < 2^22).
        let magic = V(repeating: 12582912)
        let tm = xc * V(repeating: 1.44269504088896341) + magic
        let nf = tm - magic
        let ni = unsafeBitCast(tm, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
        // Cody-Waite: r = x - n ln2 with ln2 split so n * C1 is exact.
        var r = xc.addingProduct(nf, V(repeating: -0.693359375))
        r = r.addingProduct(nf, V(repeating: 2.12194440e-4))
        // Cephes expf minimax polynomial on [-ln2/2, ln2/2].
        var p = V(repeating: 1.9875691500e-4)
        p = (p * r) + V(repeating: 1.3981999507e-3)
        p = (p * r) + V(repeating: 8.3334519073e-3)
        p = (p * r) + V(repeating: 4.1665795894e-2)
        p = (p * r) + V(repeating: 1.6666665459e-1)
        p = (p * r) + V(repeating: 5.0000001201e-1)
        let e = (p * (r * r) + r) + V(repeating: 1)
        let scale = unsafeBitCast((ni &+ 127) &<< 23, to: V.self)
        var y = e * scale
        y.replace(with: 0, where: x .< lo)
        y.replace(with: .infinity, where: x .> V(repeating: 88.72283905206835))
        y.replace(with: x, where: x .!= x)
        return y
    }

    /// tanh(x) = sign(x) (1 - 2 / (exp(2|x|) + 1)); absolute error ~1e-7.
    @inline(__always)
    public static func tanh(_ x: V) -> V {
        let signMask = SIMD16<UInt32>(repeating: 0x8000_0000)
        let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
        let ax = unsafeBitCast(bits & ~signMask, to: V.self)
        let e = exp(ax + ax)
        let t = V(repeating: 1) - V(repeating: 2) / (e + V(repeating: 1))
        return unsafeBitCast(unsafeBitCast(t, to: SIMD16<UInt32>.self) | (bits & signMask), to: V.self)
    }

    @inline(__always)
    public static func sigmoid(_ x: V) -> V {
        V(repeating: 1) / (V(repeating: 1) + exp(-x))
    }

    /// √(2/π), the GELU tanh-approximation constant.
    public static let geluC: Float = 0.7978845608028654

    @inline(__always)
    public static func gelu(_ x: V) -> V {
        let u = V(repeating: geluC) * (x + V(repeating: 0.044715) * x * x * x)
        return V(repeating: 0.5) * x * (V(repeating: 1) + tanh(u))
    }

    @inline(__always)
    public static func geluBackward(_ x: V, _ dy: V) -> V {
        let x2 = x * x
        let u = V(repeating: geluC) * (x + V(repeating: 0.044715) * x2 * x)
        let t = tanh(u)
        let du = V(repeating: geluC) * (V(repeating: 1) + V(repeating: 3 * 0.044715) * x2)
        let d = V(repeating: 0.5) * (V(repeating: 1) + t) + V(repeating: 0.5) * x * (V(repeating: 1) - t * t) * du
        return dy * d
    }

    @inline(__always)
    public static func silu(_ x: V) -> V { x * sigmoid(x) }

    @inline(__always)
    public static func siluBackward(_ x: V, _ dy: V) -> V {
        let s = sigmoid(x)
        return dy * s * (V(repeating: 1) + x * (V(repeating: 1) - s))
    }

    /// Horizontal sum by halves (the stdlib `.sum()` is slow, PERF-NOTES).
    @inline(__always)
    public static func sum(_ v: V) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    @inline(__always)
    public static func max(_ v: V) -> Float {
        var a = v.lowHalf
        a.replace(with: v.highHalf, where: v.highHalf .> a)
        var b = a.lowHalf
        b.replace(with: a.highHalf, where: a.highHalf .> b)
        var c = b.lowHalf
        c.replace(with: b.highHalf, where: b.highHalf .> c)
        return Swift.max(c[0], c[1])
    }
}
