// Layout ops: reshape (free), permute/transpose, slice and concat along an axis (copies),
// each with its backward.

extension Variable {
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Variable {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let rest = Tensor.elementCount(s.enumerated().filter { $0.offset != i }.map(\.element))
            guard rest > 0, count % rest == 0 else {
                throw .shapeMismatch(op: "reshape", detail: "\(shapeString(shape)) cannot become \(shapeString(newShape))")
            }
            s[i] = count / rest
        }
        let y = try value.reshaped(s)
        let inShape = shape
        return Tape.output(y, inputs: [self]) { g, _ in [g.unsafeReshaped(inShape)] }
    }

    /// Reorders axes: output axis i is input axis `axes[i]` (as `torch.permute`).
    public func permuted(_ axes: [Int]) throws(TensorError) -> Variable {
        guard axes.count == rank, Set(axes) == Set(0..<rank) else {
            throw .invalidArgument(op: "permute", detail: "\(axes) is not a permutation of the axes of \(shapeString(shape))")
        }
        let y = Kernels.permute(value, axes)
        var inverse = [Int](repeating: 0, count: axes.count)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return Tape.output(y, inputs: [self]) { g, _ in [Kernels.permute(g, inverse)] }
    }

    public func transposed(_ a: Int, _ b: Int) throws(TensorError) -> Variable {
        let a = try Variable.normalizeAxis(a, rank: rank, op: "transpose")
        let b = try Variable.normalizeAxis(b, rank: rank, op: "transpose")
        var axes = Array(0..<rank)
        axes.swapAt(a, b)
        return try permuted(axes)
    }

    /// Elements start..<end along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) throws(TensorError) -> Variable {
        let a = try Variable.normalizeAxis(axis, rank: rank, op: "slice")
        guard range.lowerBound >= 0, range.upperBound <= shape[a] else {
            throw .indexOutOfRange(op: "slice", detail: "range \(range) on axis \(a) of \(shapeString(shape))")
        }
        let (outer, n, inner) = Variable.split(shape, a)
        var outShape = shape
        outShape[a] = range.count
        var y = Tensor(uninitializedShape: outShape)
        let xp = value.pointer, yp = y.storage.pointer, len = range.count * inner
        for o in 0..<outer {
            (yp + o * len).update(from: xp + (o * n + range.lowerBound) * inner, count: len)
        }
        let inShape = shape
        return Tape.output(y, inputs: [self]) { g, _ in
            var dx = Tensor(zeros: inShape)
            let dp = dx.storage.pointer, gp = g.pointer
            for o in 0..<outer {
                (dp + (o * n + range.lowerBound) * inner).update(from: gp + o * len, count: len)
            }
            return [dx]
        }
    }
}

/// Joins Variables along `axis`; all other axes must agree.
public func concat(_ parts: [Variable], axis: Int) throws(TensorError) -> Variable {
    guard let first = parts.first else { throw .invalidArgument(op: "concat", detail: "no inputs") }
    let a = try Variable.normalizeAxis(axis, rank: first.rank, op: "concat")
    for p in parts {
        var s1 = p.shape, s0 = first.shape
        guard s1.count == s0.count else {
            throw .shapeMismatch(op: "concat", detail: "\(parts.map { shapeString($0.shape) }) along axis \(axis)")
        }
        s1[a] = 0; s0[a] = 0
        guard s1 == s0 else {
            throw .shapeMismatch(op: "concat", detail: "\(parts.map { shapeString($0.shape) }) along axis \(axis)")
        }
    }
    let sizes = parts.map { $0.shape[a] }
    var outShape = first.shape
    outShape[a] = sizes.reduce(0, +)
    let (outer, total, inner) = Variable.split(outShape, a)
    var y = Tensor(uninitializedShape: outShape)
    let yp = y.storage.pointer
    var offset = 0
    for (p, n) in zip(parts, sizes) {
        let xp = p.value.pointer
        for o in 0..<outer { (yp + (o * total + offset) * inner).update(from: xp + o * n * inner, count: n * inner) }
        offset += n
    }
    let shapes = parts.map(\.shape)
    return Tape.output(y, inputs: parts) { g, needs in
        var grads: [Tensor?] = []
        var offset = 0
        let gp = g.pointer
        for (i, n) in sizes.enumerated() {
            if needs[i] {
                var d = Tensor(uninitializedShape: shapes[i])
                let dp = d.storage.pointer
                for o in 0..<outer { (dp + o * n * inner).update(from: gp + (o * total + offset) * inner, count: n * inner) }
                grads.append(d)
            } else {
                grads.append(nil)
            }
            offset += n
        }
        return grads
    }
}

extension Kernels {
    /// Copies x with its axes reordered (output axis i = input axis axes[i]).
    public static func permute(_ x: Tensor, _ axes: [Int]) -> Tensor {
        let r = x.rank
        let outShape = axes.map { x.shape[$0] }
        var y = Tensor(uninitializedShape: outShape)
        var inStrides = [Int](repeating: 1, count: r)
        for i in stride(from: r - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * x.shape[i + 1] }
        let s = axes.map { inStrides[$0] }
        let xp = x.pointer, yp = y.storage.pointer
        guard y.count > 0 else { return y }
        // Innermost output axis copied in a tight loop; the rest by an odometer.
        let lastN = outShape[r - 1], lastS = s[r - 1]
        var idx = [Int](repeating: 0, count: r)
        var o = 0
        while o < y.count {
            var base = 0
            for d in 0..<(r - 1) { base += idx[d] * s[d] }
            for j in 0..<lastN { yp[o + j] = xp[base + j * lastS] }
            o += lastN
            var d = r - 2
            while d >= 0 { idx[d] += 1; if idx[d] < outShape[d] { break }; idx[d] = 0; d -= 1 }
        }
        return y
    }
}
