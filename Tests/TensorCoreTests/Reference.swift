// Plain-loop Double references for every op: slow, obviously right, independent of the
// kernels under test.
import GradCheck
import Foundation

enum Ref {
    /// op(A) op(B) for 2-D row-major matrices given their stored shapes.
    static func matmul(_ a: [Double], _ ar: Int, _ ac: Int, _ ta: Bool, _ b: [Double], _ br: Int, _ bc: Int, _ tb: Bool) -> [Double] {
        let (m, k) = ta ? (ac, ar) : (ar, ac)
        let n = tb ? br : bc
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k {
            let av = ta ? a[p * ac + i] : a[i * ac + p]
            let bv = tb ? b[j * bc + p] : b[p * bc + j]
            c[i * n + j] += av * bv
        } } }
        return c
    }

    static func broadcast(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int], _ f: (Double, Double) -> Double) -> [Double] {
        let r = max(sa.count, sb.count)
        let pa = [Int](repeating: 1, count: r - sa.count) + sa, pb = [Int](repeating: 1, count: r - sb.count) + sb
        let so = zip(pa, pb).map { max($0, $1) }
        let sta = strides(pa), stb = strides(pb), sto = strides(so)
        let n = so.reduce(1, *)
        var out = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var ia = 0, ib = 0
            for d in 0..<r {
                let idx = (i / sto[d]) % so[d]
                ia += (pa[d] == 1 ? 0 : idx) * sta[d]
                ib += (pb[d] == 1 ? 0 : idx) * stb[d]
            }
            out[i] = f(a[ia], b[ib])
        }
        return out
    }

    static func rows(_ x: [Double], _ n: Int, _ f: ([Double]) -> [Double]) -> [Double] {
        stride(from: 0, to: x.count, by: n).flatMap { f(Array(x[$0..<($0 + n)])) }
    }

    static func softmax(_ r: [Double]) -> [Double] {
        let m = r.max()!
        let e = r.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func gelu(_ x: Double) -> Double {
        0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// Causal attention with key mask; q (B,T,H*D), k/v (B,T,Hkv*D).
    static func attention(q: [Double], k: [Double], v: [Double], b: Int, t: Int, h: Int, hkv: Int, d: Int, mask: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: b * t * h * d)
        let scale = 1 / Double(d).squareRoot()
        for bi in 0..<b { for hi in 0..<h {
            let kvh = hi / (h / hkv)
            for i in 0..<t {
                var scores: [(Int, Double)] = []
                for j in 0...i where mask[bi * t + j] != 0 {
                    var s = 0.0
                    for c in 0..<d { s += q[(bi * t + i) * h * d + hi * d + c] * k[(bi * t + j) * hkv * d + kvh * d + c] }
                    scores.append((j, s * scale))
                }
                if scores.isEmpty { continue }
                let p = softmax(scores.map(\.1))
                for (idx, (j, _)) in scores.enumerated() {
                    for c in 0..<d { out[(bi * t + i) * h * d + hi * d + c] += p[idx] * v[(bi * t + j) * hkv * d + kvh * d + c] }
                }
            }
        } }
        return out
    }
}
