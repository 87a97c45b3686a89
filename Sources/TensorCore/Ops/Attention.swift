// Causal self-attention as one fused op: scores, mask, softmax and the weighted sum of
// values run per (batch, head) inside the op, so the tape records a single entry and
// keeps only the probabilities P (B, H, T, T) for the backward.
// Heads are strided slices of (B, T, H*D) activations (no transposes); grouped-query
// attention maps query head h to key/value head h / (H / Hkv).
// A query with no visible key (a left-padding position) outputs zeros.

public struct AttentionShape: Sendable, Equatable {
    public var batch: Int, time: Int, heads: Int, kvHeads: Int, headDim: Int
    public init(batch: Int, time: Int, heads: Int, kvHeads: Int, headDim: Int) {
        self.batch = batch; self.time = time; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
    }
}

/// q (B, T, H*D), k and v (B, T, Hkv*D); `keyMask` (B*T) is 1 for real tokens, 0 for
/// padding (nil: all real). Output (B, T, H*D). `scale` defaults to 1/sqrt(D).
public func causalAttention(q: Variable, k: Variable, v: Variable, heads: Int, kvHeads: Int,
                            keyMask: [Float]? = nil, scale: Float? = nil) throws(TensorError) -> Variable {
    guard q.rank == 3, k.rank == 3, v.rank == 3, heads > 0, kvHeads > 0, heads % kvHeads == 0,
          q.shape[2] % heads == 0 else {
        throw .shapeMismatch(op: "attention", detail: "q \(shapeString(q.shape)), k \(shapeString(k.shape)), v \(shapeString(v.shape)) with \(heads) heads / \(kvHeads) kv heads: need (B, T, H*D) and H divisible by Hkv")
    }
    let (b, t, d) = (q.shape[0], q.shape[1], q.shape[2] / heads)
    guard k.shape == [b, t, kvHeads * d], v.shape == k.shape else {
        throw .shapeMismatch(op: "attention", detail: "q \(shapeString(q.shape)) implies k and v (\(b), \(t), \(kvHeads * d)); got k \(shapeString(k.shape)), v \(shapeString(v.shape))")
    }
    if let keyMask, keyMask.count != b * t {
        throw .shapeMismatch(op: "attention", detail: "keyMask has \(keyMask.count) entries for batch \(b) x time \(t)")
    }
    let s = AttentionShape(batch: b, time: t, heads: heads, kvHeads: kvHeads, headDim: d)
    let sc = scale ?? 1 / Float(d).squareRoot()
    let mask = keyMask ?? [Float](repeating: 1, count: b * t)
    var out = Tensor(uninitializedShape: q.shape)
    var probs = Tensor(uninitializedShape: [b, heads, t, t])
    let qv = q.value, kv = k.value, vv = v.value
    AttentionKernels.forward(s, scale: sc, mask: mask, q: qv.pointer, k: kv.pointer, v: vv.pointer,
                             probs: probs.storage.pointer, out: out.storage.pointer)
    let p = probs
    return Tape.output(out, inputs: [q, k, v]) { g, _ in
        var dq = Tensor(uninitializedShape: qv.shape), dk = Tensor(zeros: kv.shape), dv = Tensor(zeros: vv.shape)
        AttentionKernels.backward(s, scale: sc, q: qv.pointer, k: kv.pointer, v: vv.pointer, probs: p.pointer,
                                  dOut: g.pointer, dq: dq.storage.pointer, dk: dk.storage.pointer, dv: dv.storage.pointer)
        return [dq, dk, dv]
    }
}

/// One row of attention scores -> probabilities, in place: softmax over the keys
/// 0...lastVisible that `keyOK` allows (not padding), 0 for every other key; a row that
/// sees no key at all (a padding query) is all zeros. Shared by full and cached attention,
/// so both give the same probabilities bit for bit.
@inline(__always)
func causalSoftmaxRow(_ row: UnsafeMutablePointer<Float>, width: Int, lastVisible: Int, keyOK: UnsafePointer<Float>) {
    var m = -Float.infinity
    for j in 0...lastVisible where keyOK[j] != 0 { m = max(m, row[j]) }
    if m == -.infinity { row.update(repeating: 0, count: width); return }
    var sum: Float = 0
    for j in 0...lastVisible {
        let e: Float = keyOK[j] != 0 ? expf(row[j] - m) : 0
        row[j] = e; sum += e
    }
    let inv = 1 / sum
    for j in 0...lastVisible { row[j] *= inv }
    if lastVisible + 1 < width { (row + lastVisible + 1).update(repeating: 0, count: width - lastVisible - 1) }
}

enum AttentionKernels {
    static func forward(_ s: AttentionShape, scale: Float, mask: [Float],
                        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        probs: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let (t, d, hq, hkv) = (s.time, s.headDim, s.heads, s.kvHeads)
        let qStride = hq * d, kvStride = hkv * d, group = hq / hkv
        mask.withUnsafeBufferPointer { mp in
            let mp = UncheckedSendable(mp)
            ThreadPool.shared.parallelFor(s.batch * hq) { task in
                let bi = task / hq, h = task % hq, kvh = h / group
                let qh = q + bi * t * qStride + h * d
                let kh = k + bi * t * kvStride + kvh * d
                let vh = v + bi * t * kvStride + kvh * d
                let p = probs + task * t * t
                Gemm.multiply(m: t, n: t, k: d, a: qh, lda: qStride, transA: false, b: kh, ldb: kvStride, transB: true,
                              c: p, ldc: t, alpha: scale)
                let keyOK = mp.value.baseAddress! + bi * t
                for i in 0..<t { causalSoftmaxRow(p + i * t, width: t, lastVisible: i, keyOK: keyOK) }
                Gemm.multiply(m: t, n: d, k: t, a: p, lda: t, transA: false, b: vh, ldb: kvStride, transB: false,
                              c: out + bi * t * qStride + h * d, ldc: qStride)
            }
        }
    }

    static func backward(_ s: AttentionShape, scale: Float,
                         q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                         dOut: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) {
        let (t, d, hq, hkv) = (s.time, s.headDim, s.heads, s.kvHeads)
        let qStride = hq * d, kvStride = hkv * d, group = hq / hkv
        // One task per (batch, kv head): the query heads of a group write the same dK/dV.
        ThreadPool.shared.parallelFor(s.batch * hkv) { task in
            let bi = task / hkv, kvh = task % hkv
            let kh = k + bi * t * kvStride + kvh * d, vh = v + bi * t * kvStride + kvh * d
            let dkh = dk + bi * t * kvStride + kvh * d, dvh = dv + bi * t * kvStride + kvh * d
            let ds = UnsafeMutablePointer<Float>.allocate(capacity: max(t * t, 1))
            defer { ds.deallocate() }
            for h in (kvh * group)..<((kvh + 1) * group) {
                let p = probs + (bi * hq + h) * t * t
                let qh = q + bi * t * qStride + h * d, go = dOut + bi * t * qStride + h * d
                // dV += Pᵀ dO
                Gemm.multiply(m: t, n: d, k: t, a: p, lda: t, transA: true, b: go, ldb: qStride, transB: false,
                              c: dvh, ldc: kvStride, beta: 1)
                // dP = dO Vᵀ;  dS = P (dP - Σ_j dP P) * scale
                Gemm.multiply(m: t, n: t, k: d, a: go, lda: qStride, transA: false, b: vh, ldb: kvStride, transB: true,
                              c: ds, ldc: t)
                for i in 0..<t {
                    let pr = p + i * t, dr = ds + i * t
                    var dot: Float = 0
                    for j in 0...i { dot += pr[j] * dr[j] }
                    for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) * scale }
                    if i + 1 < t { (dr + i + 1).update(repeating: 0, count: t - i - 1) }
                }
                // dQ = dS K;  dK += dSᵀ Q
                Gemm.multiply(m: t, n: d, k: t, a: ds, lda: t, transA: false, b: kh, ldb: kvStride, transB: false,
                              c: dq + bi * t * qStride + h * d, ldc: qStride)
                Gemm.multiply(m: t, n: d, k: t, a: ds, lda: t, transA: true, b: qh, ldb: qStride, transB: false,
                              c: dkh, ldc: kvStride, beta: 1)
            }
        }
    }
}

import Foundation
