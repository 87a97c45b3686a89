// Sum and mean over one axis (or over everything), with backward. Accumulates in Double
// across the reduced axis so long reductions stay accurate.

extension Variable {
    static func normalizeAxis(_ axis: Int, rank: Int, op: String) throws(TensorError) -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else {
            throw .invalidArgument(op: op, detail: "axis \(axis) out of range for rank \(rank)")
        }
        return a
    }

    /// (outer, axisLength, inner) split of `shape` around `axis`.
    static func split(_ shape: [Int], _ axis: Int) -> (Int, Int, Int) {
        (Tensor.elementCount(Array(shape[..<axis])), shape[axis], Tensor.elementCount(Array(shape[(axis + 1)...])))
    }

    public func sum(axis: Int, keepDims: Bool = false) throws(TensorError) -> Variable {
        try reduce(axis: axis, keepDims: keepDims, scale: 1, op: "sum")
    }

    public func mean(axis: Int, keepDims: Bool = false) throws(TensorError) -> Variable {
        let a = try Variable.normalizeAxis(axis, rank: rank, op: "mean")
        guard shape[a] > 0 else { throw .invalidArgument(op: "mean", detail: "axis \(axis) of \(shapeString(shape)) is empty") }
        return try reduce(axis: axis, keepDims: keepDims, scale: 1 / Float(shape[a]), op: "mean")
    }

    public var rank: Int { shape.count }

    private func reduce(axis: Int, keepDims: Bool, scale: Float, op: String) throws(TensorError) -> Variable {
        let a = try Variable.normalizeAxis(axis, rank: rank, op: op)
        let (outer, n, inner) = Variable.split(shape, a)
        var outShape = shape
        if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
        var y = Tensor(uninitializedShape: outShape)
        let xp = value.pointer, yp = y.storage.pointer
        var acc = [Double](repeating: 0, count: inner)
        for o in 0..<outer {
            for i in 0..<inner { acc[i] = 0 }
            for k in 0..<n {
                let row = xp + (o * n + k) * inner
                for i in 0..<inner { acc[i] += Double(row[i]) }
            }
            for i in 0..<inner { yp[o * inner + i] = Float(acc[i]) * scale }
        }
        let inShape = shape
        return Tape.output(y, inputs: [self]) { g, _ in
            var dx = Tensor(uninitializedShape: inShape)
            let dp = dx.storage.pointer, gp = g.pointer
            for o in 0..<outer {
                for k in 0..<n {
                    let row = dp + (o * n + k) * inner
                    for i in 0..<inner { row[i] = gp[o * inner + i] * scale }
                }
            }
            return [dx]
        }
    }

    /// Sum of every element, as a scalar (shape []).
    public func sum() -> Variable {
        let flat = Tape.noGrad { () -> Float in
            var s = 0.0
            let p = value.pointer
            for i in 0..<count { s += Double(p[i]) }
            return Float(s)
        }
        let inShape = shape
        return Tape.output(Tensor(scalar: flat), inputs: [self]) { g, _ in
            [Tensor(shape: inShape, repeating: g.item)]
        }
    }

    /// Mean of every element, as a scalar (shape []).
    public func mean() -> Variable { sum().scaled(by: 1 / Float(Swift.max(count, 1))) }
}
