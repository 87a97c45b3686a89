// Inference-only causal attention of new queries against a KV cache: query i of the new
// block sits at absolute position past + i and sees cached keys 0...past+i that are not
// padding. Never recorded on a tape (generation does not train).
// Leaves out: a matrix-vector decode path specialised for one new token (generation work).
import Foundation

/// q (B, Tn, H*D); kCache, vCache (B, Tmax, Hkv*D) with rows 0..<past+Tn filled;
/// keyMask (B, past+Tn) 1 = real. Returns (B, Tn, H*D).
public func cachedAttention(q: Tensor, kCache: Tensor, vCache: Tensor, past: Int, heads: Int, kvHeads: Int,
                            keyMask: [Float], scale: Float? = nil) throws(TensorError) -> Tensor {
    guard q.rank == 3, kCache.rank == 3, vCache.shape == kCache.shape, heads % max(kvHeads, 1) == 0,
          q.shape[2] % heads == 0 else {
        throw .shapeMismatch(op: "cachedAttention", detail: "q \(shapeString(q.shape)), cache \(shapeString(kCache.shape)), heads \(heads)/\(kvHeads)")
    }
    let (b, tn, d) = (q.shape[0], q.shape[1], q.shape[2] / heads)
    let tmax = kCache.shape[1], total = past + tn
    guard kCache.shape[0] == b, kCache.shape[2] == kvHeads * d, total <= tmax, past >= 0 else {
        throw .shapeMismatch(op: "cachedAttention", detail: "q \(shapeString(q.shape)) with past \(past) does not fit cache \(shapeString(kCache.shape))")
    }
    guard keyMask.count == b * total else {
        throw .shapeMismatch(op: "cachedAttention", detail: "keyMask has \(keyMask.count) entries, expected \(b) x \(total)")
    }
    let sc = scale ?? 1 / Float(d).squareRoot()
    let qStride = heads * d, kvStride = kvHeads * d, group = heads / kvHeads
    var out = Tensor(uninitializedShape: q.shape)
    let op = UncheckedSendable(out.storage.pointer)
    let qp = q.pointer, kp = kCache.pointer, vp = vCache.pointer
    keyMask.withUnsafeBufferPointer { mb in
        let mb = UncheckedSendable(mb)
        ThreadPool.shared.parallelFor(b * heads) { task in
            let bi = task / heads, h = task % heads, kvh = h / group
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: tn * total)
            defer { scores.deallocate() }
            let kh = kp + bi * tmax * kvStride + kvh * d, vh = vp + bi * tmax * kvStride + kvh * d
            Gemm.multiply(m: tn, n: total, k: d, a: qp + bi * tn * qStride + h * d, lda: qStride, transA: false,
                          b: kh, ldb: kvStride, transB: true, c: scores, ldc: total, alpha: sc)
            let keyOK = mb.value.baseAddress! + bi * total
            for i in 0..<tn { causalSoftmaxRow(scores + i * total, width: total, lastVisible: past + i, keyOK: keyOK) }
            Gemm.multiply(m: tn, n: d, k: total, a: scores, lda: total, transA: false, b: vh, ldb: kvStride, transB: false,
                          c: op.value + bi * tn * qStride + h * d, ldc: qStride)
        }
    }
    return out
}
