// Selection ops for the PPO objective: where, clamp, elementwise minimum and maximum.
// Ties in minimum/maximum split the gradient equally, as PyTorch does.

/// out = condition ? a : b, elementwise; `condition` is 0/1 of the same shape.
public func select(_ condition: Tensor, _ a: Variable, _ b: Variable) throws(TensorError) -> Variable {
    guard condition.shape == a.shape, a.shape == b.shape else {
        throw .shapeMismatch(op: "where", detail: "condition \(shapeString(condition.shape)), a \(shapeString(a.shape)), b \(shapeString(b.shape)) must be equal")
    }
    var y = Tensor(uninitializedShape: a.shape)
    Kernels.zip3(condition.pointer, a.value.pointer, b.value.pointer, y.storage.pointer, y.count) { c, a, b in
        var r = b; r.replace(with: a, where: c .!= 0); return r
    }
    return Tape.output(y, inputs: [a, b]) { g, needs in
        [needs[0] ? Kernels.zipped(condition, g) { c, g in var r = g; r.replace(with: 0, where: c .== 0); return r } : nil,
         needs[1] ? Kernels.zipped(condition, g) { c, g in var r = g; r.replace(with: 0, where: c .!= 0); return r } : nil]
    }
}

extension Variable {
    /// Limits every element to [lo, hi]; the gradient passes where lo <= x <= hi.
    public func clamped(min lo: Float, max hi: Float) throws(TensorError) -> Variable {
        guard lo <= hi else { throw .invalidArgument(op: "clamp", detail: "min \(lo) > max \(hi)") }
        let x = value
        let y = Kernels.mapped(x) { v in
            var r = v
            r.replace(with: SIMD16(repeating: lo), where: v .< lo)
            r.replace(with: SIMD16(repeating: hi), where: v .> hi)
            return r
        }
        return Tape.output(y, inputs: [self]) { g, _ in
            [Kernels.zipped(x, g) { x, g in
                var r = g; r.replace(with: 0, where: (x .< lo) .| (x .> hi)); return r
            }]
        }
    }
}

public func minimum(_ a: Variable, _ b: Variable) throws(TensorError) -> Variable {
    try extremum(a, b, op: "minimum", takeA: { $0 .< $1 })
}

public func maximum(_ a: Variable, _ b: Variable) throws(TensorError) -> Variable {
    try extremum(a, b, op: "maximum", takeA: { $0 .> $1 })
}

private func extremum(_ a: Variable, _ b: Variable, op: String,
                      takeA: @escaping (SIMD16<Float>, SIMD16<Float>) -> SIMDMask<SIMD16<Int32>>) throws(TensorError) -> Variable {
    guard a.shape == b.shape else {
        throw .shapeMismatch(op: op, detail: "\(shapeString(a.shape)) vs \(shapeString(b.shape)) (equal shapes required)")
    }
    let av = a.value, bv = b.value
    let y = Kernels.zipped(av, bv) { x, y in var r = y; r.replace(with: x, where: takeA(x, y)); return r }
    return Tape.output(y, inputs: [a, b]) { g, needs in
        // share = 1 where a wins, 0.5 on ties, 0 where b wins.
        let share = Kernels.zipped(av, bv) { x, y in
            var s = SIMD16<Float>(repeating: 0)
            s.replace(with: 1, where: takeA(x, y))
            s.replace(with: 0.5, where: x .== y)
            return s
        }
        return [needs[0] ? Kernels.zipped(share, g) { $0 * $1 } : nil,
                needs[1] ? Kernels.zipped(share, g) { (1 - $0) * $1 } : nil]
    }
}
