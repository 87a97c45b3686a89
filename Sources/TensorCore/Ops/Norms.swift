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

/// Σ x[j] over one row: 16 Float lanes (each summing c/16 values), combined by halves.
/// Was a scalar Double loop (5x a memcpy of the same bytes); lane sums keep ~1e-7 relative.
@inline(__always)
func rowSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    typealias V = SIMD16<Float>
    var acc = V(repeating: 0)
    var j = 0
    while j + 16 <= n { acc += UnsafeRawPointer(x + j).loadUnaligned(as: V.self); j += 16 }
    var s = VectorMath.sum(acc)
    while j < n { s += x[j]; j += 1 }
    return s
}

/// (Σ (x[j] - m), Σ (x[j] - m)²) over one row, as `rowSum`.
@inline(__always)
func rowDeviations(_ x: UnsafePointer<Float>, _ n: Int, from m: Float) -> (sum: Float, squares: Float) {
    typealias V = SIMD16<Float>
    let mv = V(repeating: m)
    var acc1 = V(repeating: 0), acc2 = V(repeating: 0)
    var j = 0
    while j + 16 <= n {
        let d = UnsafeRawPointer(x + j).loadUnaligned(as: V.self) - mv
        acc1 += d; acc2 = acc2.addingProduct(d, d); j += 16
    }
    var s1 = VectorMath.sum(acc1), s2 = VectorMath.sum(acc2)
    while j < n { let d = x[j] - m; s1 += d; s2 += d * d; j += 1 }
    return (s1, s2)
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
                    // Corrected two-pass: m0 from Float lanes, then m = m0 + mean(x - m0) and
                    // var = (Σd² - (Σd)²/c) / c with d = x - m0; matches the Double loop to ~5e-7.
                    let m0 = Float(Double(rowSum(row, c)) / Double(c))
                    let (d1, d2) = rowDeviations(row, c, from: m0)
                    let m = Double(m0) + Double(d1) / Double(c)
                    let v = max(0, Double(d2) - Double(d1) * Double(d1) / Double(c))
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
                let s = Double(rowDeviations(row, c, from: 0).squares)
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
