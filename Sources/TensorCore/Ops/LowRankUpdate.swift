// addLowRank: out = base + s · low Bᵀ in one op — the last step of a LoRA layer. Fused so the
// tape keeps one (..., out) tensor per adapted layer instead of three (B's product, its
// scaled copy, the sum): at SmolLM2-135M size that is ~1.3 GB of activations per step.
// Leaves out the base product and A (plain `linear` ops before it).

/// base (..., out) + s · low (..., r) · Bᵀ, with B (out, r).
public func addLowRank(_ base: Variable, low: Variable, b: Variable, scaling s: Float) throws(TensorError) -> Variable {
    let r = b.rank == 2 ? b.shape[1] : -1, outF = b.rank == 2 ? b.shape[0] : -1
    guard r > 0, low.shape.last == r, base.shape.last == outF,
          Array(base.shape.dropLast()) == Array(low.shape.dropLast()) else {
        throw .shapeMismatch(op: "addLowRank", detail: "base \(shapeString(base.shape)), low \(shapeString(low.shape)), "
                             + "B \(shapeString(b.shape)): expected (..., out), (..., r), (out, r)")
    }
    let rows = base.count / outF
    var y = base.value
    y.makeUnique()   // a copy: base keeps its own value (the tape may hold it)
    let lv = low.value, bv = b.value
    y.withUnsafeMutableBufferPointer { yp in
        Gemm.multiply(m: rows, n: outF, k: r, a: lv.pointer, lda: r, transA: false, b: bv.pointer, ldb: r, transB: true,
                      c: yp.baseAddress!, ldc: outF, alpha: s, beta: 1)
    }
    return Tape.output(y, inputs: [base, low, b]) { g, needs in
        let gp = g.pointer
        var dLow: Tensor? = nil, dB: Tensor? = nil
        if needs[1] {  // dLow (rows, r) = s · dY B
            var d = Tensor(uninitializedShape: lv.shape)
            d.withUnsafeMutableBufferPointer { dp in
                Gemm.multiply(m: rows, n: r, k: outF, a: gp, lda: outF, transA: false, b: bv.pointer, ldb: r, transB: false,
                              c: dp.baseAddress!, ldc: r, alpha: s)
            }
            dLow = d
        }
        if needs[2] {  // dB (out, r) = s · dYᵀ low
            var d = Tensor(uninitializedShape: bv.shape)
            d.withUnsafeMutableBufferPointer { dp in
                Gemm.multiply(m: outF, n: r, k: rows, a: gp, lda: outF, transA: true, b: lv.pointer, ldb: r, transB: false,
                              c: dp.baseAddress!, ldc: r, alpha: s)
            }
            dB = d
        }
        return [needs[0] ? g : nil, dLow, dB]   // dBase = dY
    }
}
