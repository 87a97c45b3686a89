// Rotary position embedding in Hugging Face's "rotate half" layout: within each head the
// first D/2 channels pair with the last D/2. Angles are position * inv_freq in Float32, as
// transformers computes them; the backward is the inverse rotation.
import Foundation

/// Rotates q or k (B, T, H*D) by angle position[b, t] * invFreq[i] for channel pair i.
/// `positions` has B*T entries (explicit, so left padding does not shift them).
public func rotaryEmbedding(_ x: Variable, heads: Int, positions: [Int32], invFreq: [Float]) throws(TensorError) -> Variable {
    guard x.rank == 3, heads > 0, x.shape[2] % heads == 0 else {
        throw .shapeMismatch(op: "rope", detail: "x \(shapeString(x.shape)) must be (B, T, H*D) with H = \(heads)")
    }
    let (b, t, d) = (x.shape[0], x.shape[1], x.shape[2] / heads)
    guard d % 2 == 0, invFreq.count == d / 2 else {
        throw .shapeMismatch(op: "rope", detail: "head dim \(d) needs \(d / 2) inverse frequencies, got \(invFreq.count)")
    }
    guard positions.count == b * t else {
        throw .shapeMismatch(op: "rope", detail: "\(positions.count) positions for batch \(b) x time \(t)")
    }
    let half = d / 2
    var cosT = [Float](repeating: 0, count: b * t * half), sinT = cosT
    for (r, pos) in positions.enumerated() {
        for i in 0..<half {
            let angle = Float(pos) * invFreq[i]
            cosT[r * half + i] = Float(Foundation.cos(Double(angle)))
            sinT[r * half + i] = Float(Foundation.sin(Double(angle)))
        }
    }
    func rotate(_ src: Tensor, inverse: Bool) -> Tensor {
        var dst = Tensor(uninitializedShape: src.shape)
        let sp = src.pointer, dp = dst.storage.pointer
        let sgn: Float = inverse ? -1 : 1
        for r in 0..<(b * t) {
            for h in 0..<heads {
                let base = (r * heads + h) * d
                for i in 0..<half {
                    let c = cosT[r * half + i], s = sgn * sinT[r * half + i]
                    let x1 = sp[base + i], x2 = sp[base + half + i]
                    dp[base + i] = x1 * c - x2 * s
                    dp[base + half + i] = x2 * c + x1 * s
                }
            }
        }
        return dst
    }
    let y = rotate(x.value, inverse: false)
    return Tape.output(y, inputs: [x]) { g, _ in [rotate(g, inverse: true)] }
}
