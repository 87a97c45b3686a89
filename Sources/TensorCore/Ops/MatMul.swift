// Matrix products on Variables: `matmul` (2-D or batched, any of the four transpositions)
// and `linear` (x Wᵀ + b with PyTorch's (out, in) weight layout, bias fused into the
// GEMM's output). Every product goes through Gemm.multiply, in `Precision.current` read when
// the op runs forward; its backward's dX and dW products use that same precision.

/// op(A) op(B) where the last two axes are the matrices. Batched operands must share their
/// leading axes; a 2-D `b` is shared across every batch of `a` (activations x weight).
public func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) throws(TensorError) -> Variable {
    let desc = "\(shapeString(a.shape))\(transposeA ? "ᵀ" : "") x \(shapeString(b.shape))\(transposeB ? "ᵀ" : "")"
    guard a.rank >= 2, b.rank >= 2 else { throw .shapeMismatch(op: "matmul", detail: "\(desc): both operands need rank >= 2") }
    let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
    guard batchB.isEmpty || batchA == batchB else {
        throw .shapeMismatch(op: "matmul", detail: "\(desc): batch axes \(shapeString(batchA)) vs \(shapeString(batchB))")
    }
    let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    let (m, k) = transposeA ? (ac, ar) : (ar, ac)
    let (kb, n) = transposeB ? (bc, br) : (br, bc)
    guard k == kb else { throw .shapeMismatch(op: "matmul", detail: "\(desc): inner dimensions \(k) != \(kb)") }
    let batch = Tensor.elementCount(batchA)
    let sharedB = batchB.isEmpty && batch > 1
    var y = Tensor(uninitializedShape: batchA + [m, n])
    let av = a.value, bv = b.value
    let precision = Precision.current
    batchedGemm(batch: batch, m: m, n: n, k: k, a: av.pointer, transA: transposeA, aRows: ar, aCols: ac,
                b: bv.pointer, transB: transposeB, bRows: br, bCols: bc, bShared: sharedB,
                c: y.storage.pointer, accumulate: false, precision: precision)
    return Tape.output(y, inputs: [a, b]) { g, needs in
        var ga: Tensor? = nil, gb: Tensor? = nil
        let gp = g.pointer
        if needs[0] {
            // dA = dC op(B)ᵀ, or (dC op(B)ᵀ)ᵀ = op(B) dCᵀ when A was transposed.
            var d = Tensor(uninitializedShape: av.shape)
            if !transposeA {
                batchedGemm(batch: batch, m: m, n: k, k: n, a: gp, transA: false, aRows: m, aCols: n,
                            b: bv.pointer, transB: !transposeB, bRows: br, bCols: bc, bShared: sharedB,
                            c: d.storage.pointer, accumulate: false, precision: precision)
            } else {
                // A stored (k, m): dA = op(B) dCᵀ, shape (k, m).
                batchedGemm(batch: batch, m: k, n: m, k: n, a: bv.pointer, transA: transposeB, aRows: br, aCols: bc, aShared: sharedB,
                            b: gp, transB: true, bRows: m, bCols: n, bShared: false,
                            c: d.storage.pointer, accumulate: false, precision: precision)
            }
            ga = d
        }
        if needs[1] {
            var d = Tensor(zeros: bv.shape)
            if !transposeB {
                // dB (k, n) = op(A)ᵀ dC, summed over batches when B is shared.
                batchedGemm(batch: batch, m: k, n: n, k: m, a: av.pointer, transA: !transposeA, aRows: ar, aCols: ac,
                            b: gp, transB: false, bRows: m, bCols: n, bShared: false,
                            c: d.storage.pointer, accumulate: sharedB, cShared: sharedB, precision: precision)
            } else {
                // B stored (n, k): dB = dCᵀ op(A), shape (n, k).
                batchedGemm(batch: batch, m: n, n: k, k: m, a: gp, transA: true, aRows: m, aCols: n,
                            b: av.pointer, transB: transposeA, bRows: ar, bCols: ac, bShared: false,
                            c: d.storage.pointer, accumulate: sharedB, cShared: sharedB, precision: precision)
            }
            gb = d
        }
        return [ga, gb]
    }
}

/// One GEMM per batch element. `xShared` operands are the same matrix for every batch;
/// a shared C accumulates (beta = 1) across batches.
func batchedGemm(batch: Int, m: Int, n: Int, k: Int,
                 a: UnsafePointer<Float>, transA: Bool, aRows: Int, aCols: Int, aShared: Bool = false,
                 b: UnsafePointer<Float>, transB: Bool, bRows: Int, bCols: Int, bShared: Bool,
                 c: UnsafeMutablePointer<Float>, accumulate: Bool, cShared: Bool = false,
                 precision: Precision = .fp32) {
    // A non-transposed A with a shared B is one tall GEMM: fold the batch into M.
    if bShared && !aShared && !transA && !cShared && batch > 1 {
        Gemm.multiply(m: batch * m, n: n, k: k, a: a, lda: aCols, transA: false, b: b, ldb: bCols, transB: transB,
                      c: c, ldc: n, beta: accumulate ? 1 : 0, precision: precision)
        return
    }
    for i in 0..<batch {
        let ap = aShared ? a : a + i * aRows * aCols
        let bp = bShared ? b : b + i * bRows * bCols
        let cp = cShared ? c : c + i * m * n
        Gemm.multiply(m: m, n: n, k: k, a: ap, lda: aCols, transA: transA, b: bp, ldb: bCols, transB: transB,
                      c: cp, ldc: n, beta: (accumulate || (cShared && i > 0)) ? 1 : 0, precision: precision)
    }
}

/// y = x Wᵀ + b for x (..., in), W (out, in), b (out,): PyTorch's `nn.Linear`.
public func linear(_ x: Variable, weight: Variable, bias: Variable? = nil) throws(TensorError) -> Variable {
    guard weight.rank == 2, let inF = x.shape.last, weight.shape[1] == inF else {
        throw .shapeMismatch(op: "linear", detail: "x \(shapeString(x.shape)) with weight \(shapeString(weight.shape)): weight must be (out, \(x.shape.last ?? 0))")
    }
    let outF = weight.shape[0]
    if let bias, bias.shape != [outF] {
        throw .shapeMismatch(op: "linear", detail: "bias \(shapeString(bias.shape)) for weight \(shapeString(weight.shape)): expected (\(outF),)")
    }
    let rows = x.count / max(inF, 1)
    var y = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outF])
    let yp = y.storage.pointer
    if let bias {
        let bp = bias.value.pointer
        for r in 0..<rows { (yp + r * outF).update(from: bp, count: outF) }
    }
    let xv = x.value, wv = weight.value
    let precision = Precision.current
    Gemm.multiply(m: rows, n: outF, k: inF, a: xv.pointer, lda: inF, transA: false, b: wv.pointer, ldb: inF, transB: true,
                  c: yp, ldc: outF, beta: bias == nil ? 0 : 1, precision: precision)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tape.output(y, inputs: inputs) { g, needs in
        let gp = g.pointer
        var grads: [Tensor?] = [nil, nil]
        if needs[0] {  // dX (rows, in) = dY W
            var dx = Tensor(uninitializedShape: xv.shape)
            Gemm.multiply(m: rows, n: inF, k: outF, a: gp, lda: outF, transA: false, b: wv.pointer, ldb: inF, transB: false,
                          c: dx.storage.pointer, ldc: inF, precision: precision)
            grads[0] = dx
        }
        if needs[1] {  // dW (out, in) = dYᵀ X
            var dw = Tensor(uninitializedShape: wv.shape)
            Gemm.multiply(m: outF, n: inF, k: rows, a: gp, lda: outF, transA: true, b: xv.pointer, ldb: inF, transB: false,
                          c: dw.storage.pointer, ldc: inF, precision: precision)
            grads[1] = dw
        }
        if needs.count == 3 {
            if needs[2] {  // db = column sums of dY
                var db = [Double](repeating: 0, count: outF)
                for r in 0..<rows { for j in 0..<outF { db[j] += Double(gp[r * outF + j]) } }
                grads.append(try! Tensor(shape: [outF], data: db.map(Float.init)))
            } else {
                grads.append(nil)
            }
        }
        return grads
    }
}
