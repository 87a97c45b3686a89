// Fused log-softmax losses over a vocabulary axis: cross-entropy with an ignore index
// (SFT), and per-token log-probabilities (PPO's log pi(a|s)). Neither keeps a (N, V)
// probability matrix alive: the backward recomputes softmax from the saved logits and
// per-row log-sum-exp.
import Foundation

/// log Σ exp over each length-v row, in Double for the sum.
func rowLogSumExp(_ x: UnsafePointer<Float>, rows: Int, v: Int) -> [Float] {
    var lse = [Float](repeating: 0, count: rows)
    lse.withUnsafeMutableBufferPointer { out in
        let out = UncheckedSendable(out)
        parallelRows(rows, work: rows * v) { range in
            for r in range {
                let row = x + r * v
                var m = -Float.infinity
                for j in 0..<v { m = max(m, row[j]) }
                let mv = SIMD16<Float>(repeating: m)
                var acc = SIMD16<Float>(repeating: 0)
                var j = 0
                while j + 16 <= v { acc += VectorMath.exp(Kernels.load(row, j) - mv); j += 16 }
                var s = Double(VectorMath.sum(acc))
                while j < v { s += Foundation.exp(Double(row[j] - m)); j += 1 }
                out.value[r] = m + Float(Foundation.log(s))
            }
        }
    }
    return lse
}

/// g_r * (onehot(target_r) - softmax(row_r)) scaled by `weight[r]`, for every row.
func softmaxMinusOneHot(_ logits: Tensor, _ lse: [Float], targets: [Int32], weights: [Float], sign: Float) -> Tensor {
    let v = logits.shape.last!
    let rows = logits.count / v
    var d = Tensor(uninitializedShape: logits.shape)
    let lp = logits.pointer, dp = d.storage.pointer
    parallelRows(rows, work: rows * v) { range in
        for r in range {
            let w = weights[r]
            if w == 0 { (dp + r * v).update(repeating: 0, count: v); continue }
            let l = SIMD16<Float>(repeating: lse[r]), s = SIMD16<Float>(repeating: sign * w)
            Kernels.map(lp + r * v, dp + r * v, v) { VectorMath.exp($0 - l) * s }
            dp[r * v + Int(targets[r])] -= sign * w
        }
    }
    return d
}

/// Mean cross-entropy over rows whose target is not `ignoreIndex` (PyTorch's
/// `F.cross_entropy(..., ignore_index=-100)`). logits (..., V), targets one per row.
public func crossEntropy(logits: Variable, targets: [Int32], ignoreIndex: Int32 = -100) throws(TensorError) -> Variable {
    guard let v = logits.shape.last, v > 0 else { throw .shapeMismatch(op: "crossEntropy", detail: "logits \(shapeString(logits.shape)) need a vocabulary axis") }
    let rows = logits.count / v
    guard targets.count == rows else {
        throw .shapeMismatch(op: "crossEntropy", detail: "logits \(shapeString(logits.shape)) have \(rows) rows but \(targets.count) targets were given")
    }
    var counted = 0
    for (i, t) in targets.enumerated() where t != ignoreIndex {
        guard t >= 0 && Int(t) < v else {
            throw .indexOutOfRange(op: "crossEntropy", detail: "target \(t) at row \(i) for \(v) classes (ignore index is \(ignoreIndex))")
        }
        counted += 1
    }
    guard counted > 0 else { throw .invalidArgument(op: "crossEntropy", detail: "every one of the \(rows) targets is the ignore index \(ignoreIndex)") }
    let lv = logits.value
    let lse = rowLogSumExp(lv.pointer, rows: rows, v: v)
    var total = 0.0
    for (r, t) in targets.enumerated() where t != ignoreIndex { total += Double(lse[r] - lv.pointer[r * v + Int(t)]) }
    let loss = Float(total / Double(counted))
    guard loss.isFinite else { throw .nonFinite(op: "crossEntropy", detail: "loss is \(loss) over \(counted) tokens of logits \(shapeString(logits.shape))") }
    let weights = targets.map { $0 == ignoreIndex ? Float(0) : 1 / Float(counted) }
    let safeTargets = targets.map { $0 == ignoreIndex ? 0 : $0 }
    return Tape.output(Tensor(scalar: loss), inputs: [logits]) { g, _ in
        [softmaxMinusOneHot(lv, lse, targets: safeTargets, weights: weights.map { $0 * g.item }, sign: 1)]
    }
}

/// log softmax(logits)[target] for every row: (..., V) -> (...). The log-probability of
/// each taken token, without materialising the full log-softmax.
public func tokenLogProbs(logits: Variable, targets: [Int32]) throws(TensorError) -> Variable {
    guard let v = logits.shape.last, v > 0 else { throw .shapeMismatch(op: "tokenLogProbs", detail: "logits \(shapeString(logits.shape)) need a vocabulary axis") }
    let rows = logits.count / v
    guard targets.count == rows else {
        throw .shapeMismatch(op: "tokenLogProbs", detail: "logits \(shapeString(logits.shape)) have \(rows) rows but \(targets.count) targets were given")
    }
    for (i, t) in targets.enumerated() where t < 0 || Int(t) >= v {
        throw .indexOutOfRange(op: "tokenLogProbs", detail: "target \(t) at row \(i) for \(v) classes")
    }
    let lv = logits.value
    let lse = rowLogSumExp(lv.pointer, rows: rows, v: v)
    var y = Tensor(uninitializedShape: Array(logits.shape.dropLast()))
    for r in 0..<rows { y.storage.pointer[r] = lv.pointer[r * v + Int(targets[r])] - lse[r] }
    return Tape.output(y, inputs: [logits]) { g, _ in
        // d/dx (x_t - lse) = onehot - softmax, times g per row.
        [softmaxMinusOneHot(lv, lse, targets: targets, weights: g.scalars, sign: -1)]
    }
}
