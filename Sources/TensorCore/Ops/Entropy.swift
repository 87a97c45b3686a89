// Fused entropy of softmax(logits) over the last axis: H = logsumexp(x) - Σ_j p_j x_j per
// row, (..., V) -> (...). Like `tokenLogProbs`, it never keeps a (N, V) probability matrix:
// the forward saves two floats per row (logsumexp and Σ p x) and the backward recomputes p
// from the logits, dH/dx_j = -p_j (x_j - Σ p x). Tokens with p_j = 0 (logits of -inf, as
// left by top-k masking) contribute 0, not NaN. Leaves out: temperature (scale logits first).
import Foundation

/// Entropy -Σ p log p of softmax over the last axis of `logits`, one value per row.
public func softmaxEntropy(logits: Variable) throws(TensorError) -> Variable {
    guard let v = logits.shape.last, v > 0 else {
        throw .shapeMismatch(op: "softmaxEntropy", detail: "logits \(shapeString(logits.shape)) need a non-empty vocabulary axis")
    }
    let rows = logits.count / v
    let lv = logits.value
    let lse = rowLogSumExp(lv.pointer, rows: rows, v: v)
    // mu[r] = Σ_j p_j x_j: the expected logit under the row's softmax.
    var mu = [Float](repeating: 0, count: rows)
    mu.withUnsafeMutableBufferPointer { out in
        let out = UncheckedSendable(out)
        let xp = lv.pointer
        parallelRows(rows, work: rows * v) { range in
            for r in range {
                let row = xp + r * v
                let l = SIMD16<Float>(repeating: lse[r])
                var acc = SIMD16<Float>(repeating: 0)
                var j = 0
                while j + 16 <= v {
                    let x = Kernels.load(row, j)
                    let p = VectorMath.exp(x - l)
                    var t = p * x
                    t.replace(with: 0, where: p .== 0)
                    acc += t
                    j += 16
                }
                var s = Double(VectorMath.sum(acc))
                while j < v {
                    let p = Foundation.exp(Double(row[j] - lse[r]))
                    if p != 0 { s += p * Double(row[j]) }
                    j += 1
                }
                out.value[r] = Float(s)
            }
        }
    }
    let y = Tensor(uninitializedShape: Array(logits.shape.dropLast()))
    for r in 0..<rows { y.storage.pointer[r] = lse[r] - mu[r] }
    return Tape.output(y, inputs: [logits]) { g, _ in
        let d = Tensor(uninitializedShape: lv.shape)
        let xp = lv.pointer, dp = d.storage.pointer, gp = g.pointer
        parallelRows(rows, work: rows * v) { range in
            for r in range {
                let gr = gp[r]
                if gr == 0 { (dp + r * v).update(repeating: 0, count: v); continue }
                let l = SIMD16<Float>(repeating: lse[r]), m = SIMD16<Float>(repeating: mu[r])
                let ng = SIMD16<Float>(repeating: -gr)
                // A plain SIMD loop, not Kernels.map: no nested pool fork inside a row chunk.
                let f = { (x: SIMD16<Float>) -> SIMD16<Float> in
                    let p = VectorMath.exp(x - l)
                    var t = ng * p * (x - m)
                    t.replace(with: 0, where: p .== 0)
                    return t
                }
                let row = xp + r * v, drow = dp + r * v
                var j = 0
                while j + 16 <= v { Kernels.store(f(Kernels.load(row, j)), drow, j); j += 16 }
                if j < v { Kernels.storeTail(f(Kernels.loadTail(row, j, v)), drow, j, v) }
            }
        }
        return [d]
    }
}
