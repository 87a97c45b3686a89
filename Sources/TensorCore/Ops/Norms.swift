// LayerNorm (GPT-2) and RMSNorm (Llama family) over the last axis, with their weights,
// as single fused ops: the forward saves per-row statistics, the backward computes the
// input, weight and bias gradients in one pass over each row.
import Foundation

/// Splits `rows` across the pool in contiguous ranges (one range per thread).
@inline(__always)
func parallelRows(_ rows: Int, work: Int, _ body: (Range<Int>) -> Void) {
    let pool = ThreadPool.shared
    let chunks = min(pool.threadCount, max(1, work / Kernels.parallelThreshold), max(rows, 1))
    if chunks <= 1 { body(0..<rows); return }
    let per = (rows + chunks - 1) / chunks
    pool.parallelFor(chunks) { c in
        let lo = c * per, hi = min(rows, lo + per)
        if lo < hi { body(lo..<hi) }
    }
}

/// y = (x - mean) / sqrt(var + eps) * weight + bias, over the last axis (biased variance).
public func layerNorm(_ x: Variable, weight: Variable, bias: Variable, eps: Float) throws(TensorError) -> Variable {
    guard let c = x.shape.last, weight.shape == [c], bias.shape == [c] else {
        throw .shapeMismatch(op: "layerNorm", detail: "x \(shapeString(x.shape)), weight \(shapeString(weight.shape)), bias \(shapeString(bias.shape)): weight and bias must be (C,) with C = x's last axis")
    }
    let rows = x.count / max(c, 1)
    var y = Tensor(uninitializedShape: x.shape)
    var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
    let xp = x.value.pointer, wp = weight.value.pointer, bp = bias.value.pointer, yp = y.storage.pointer
    mean.withUnsafeMutableBufferPointer { mp in
        rstd.withUnsafeMutableBufferPointer { rp in
            let mp = UncheckedSendable(mp), rp = UncheckedSendable(rp)
            parallelRows(rows, work: x.count) { range in
                for r in range {
                    let row = xp + r * c
                    var s = 0.0
                    for j in 0..<c { s += Double(row[j]) }
                    let m = s / Double(c)
                    var v = 0.0
                    for j in 0..<c { let d = Double(row[j]) - m; v += d * d }
                    let rs = 1 / (v / Double(c) + Double(eps)).squareRoot()
                    mp.value[r] = Float(m); rp.value[r] = Float(rs)
                    let mv = SIMD16<Float>(repeating: Float(m)), rv = SIMD16<Float>(repeating: Float(rs))
                    Kernels.zip3(row, wp, bp, yp + r * c, c) { (($0 - mv) * rv) * $1 + $2 }
                }
            }
        }
    }
    let xv = x.value, wv = weight.value
    return Tape.output(y, inputs: [x, weight, bias]) { g, needs in
        var dx = Tensor(uninitializedShape: xv.shape)
        var dw = [Double](repeating: 0, count: c), db = [Double](repeating: 0, count: c)
        let xp = xv.pointer, wp = wv.pointer, gp = g.pointer, dp = dx.storage.pointer
        for r in 0..<rows {
            let row = xp + r * c, gr = gp + r * c
            let m = mean[r], rs = rstd[r]
            // dx = rstd * (g w - mean(g w) - xhat * mean(g w xhat))
            var s1 = 0.0, s2 = 0.0
            for j in 0..<c {
                let xhat = (row[j] - m) * rs
                let gw = gr[j] * wp[j]
                s1 += Double(gw); s2 += Double(gw * xhat)
                dw[j] += Double(gr[j] * xhat); db[j] += Double(gr[j])
            }
            let m1 = Float(s1 / Double(c)), m2 = Float(s2 / Double(c))
            for j in 0..<c {
                let xhat = (row[j] - m) * rs
                dp[r * c + j] = rs * (gr[j] * wp[j] - m1 - xhat * m2)
            }
        }
        return [needs[0] ? dx : nil,
                needs[1] ? try! Tensor(shape: [c], data: dw.map(Float.init)) : nil,
                needs[2] ? try! Tensor(shape: [c], data: db.map(Float.init)) : nil]
    }
}

/// y = x / sqrt(mean(x²) + eps) * weight, over the last axis (Llama's RMSNorm).
public func rmsNorm(_ x: Variable, weight: Variable, eps: Float) throws(TensorError) -> Variable {
    guard let c = x.shape.last, weight.shape == [c] else {
        throw .shapeMismatch(op: "rmsNorm", detail: "x \(shapeString(x.shape)), weight \(shapeString(weight.shape)): weight must be (C,) with C = x's last axis")
    }
    let rows = x.count / max(c, 1)
    var y = Tensor(uninitializedShape: x.shape)
    var rstd = [Float](repeating: 0, count: rows)
    let xp = x.value.pointer, wp = weight.value.pointer, yp = y.storage.pointer
    rstd.withUnsafeMutableBufferPointer { rp in
        let rp = UncheckedSendable(rp)
        parallelRows(rows, work: x.count) { range in
            for r in range {
                let row = xp + r * c
                var s = 0.0
                for j in 0..<c { s += Double(row[j]) * Double(row[j]) }
                let rs = Float(1 / (s / Double(c) + Double(eps)).squareRoot())
                rp.value[r] = rs
                let rv = SIMD16<Float>(repeating: rs)
                Kernels.zip(row, wp, yp + r * c, c) { ($0 * rv) * $1 }
            }
        }
    }
    let xv = x.value, wv = weight.value
    return Tape.output(y, inputs: [x, weight]) { g, needs in
        var dx = Tensor(uninitializedShape: xv.shape)
        var dw = [Double](repeating: 0, count: c)
        let xp = xv.pointer, wp = wv.pointer, gp = g.pointer, dp = dx.storage.pointer
        for r in 0..<rows {
            let row = xp + r * c, gr = gp + r * c
            let rs = rstd[r]
            // dx = rstd * g w - x rstd³ mean(g w x)
            var s = 0.0
            for j in 0..<c {
                s += Double(gr[j] * wp[j] * row[j])
                dw[j] += Double(gr[j] * row[j] * rs)
            }
            let k = Float(s / Double(c)) * rs * rs * rs
            for j in 0..<c { dp[r * c + j] = rs * gr[j] * wp[j] - row[j] * k }
        }
        return [needs[0] ? dx : nil, needs[1] ? try! Tensor(shape: [c], data: dw.map(Float.init)) : nil]
    }
}
