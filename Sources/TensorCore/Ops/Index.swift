// Integer-indexed ops: embedding lookup (scatter-add backward) and gather along the last
// axis (token log-probs). Indices are always range-checked: an O(n) pass over Int32s,
// negligible next to the row copies it guards.

/// Rows of `table` (V, C) picked by `ids` (any shape `idsShape`) -> (idsShape..., C).
public func embedding(_ ids: [Int32], shape idsShape: [Int], table: Variable) throws(TensorError) -> Variable {
    guard table.rank == 2 else { throw .shapeMismatch(op: "embedding", detail: "table must be (V, C), got \(shapeString(table.shape))") }
    guard Tensor.elementCount(idsShape) == ids.count else {
        throw .shapeMismatch(op: "embedding", detail: "\(ids.count) ids for shape \(shapeString(idsShape))")
    }
    let v = table.shape[0], c = table.shape[1]
    for (i, id) in ids.enumerated() where id < 0 || Int(id) >= v {
        throw .indexOutOfRange(op: "embedding", detail: "id \(id) at position \(i) for a table of \(v) rows\(table.name.map { " ('\($0)')" } ?? "")")
    }
    var y = Tensor(uninitializedShape: idsShape + [c])
    let tp = table.value.pointer, yp = y.storage.pointer
    for (i, id) in ids.enumerated() { (yp + i * c).update(from: tp + Int(id) * c, count: c) }
    return Tape.output(y, inputs: [table]) { g, _ in
        var dt = Tensor(zeros: [v, c])
        let dp = dt.storage.pointer, gp = g.pointer
        for (i, id) in ids.enumerated() {
            Kernels.zip(dp + Int(id) * c, gp + i * c, dp + Int(id) * c, c) { $0 + $1 }
        }
        return [dt]
    }
}

/// out[..., i] = x[..., i, index[..., i]]: picks one element per row of the last axis.
/// `index` has one entry per row (x.count / lastAxis).
public func gatherLastAxis(_ x: Variable, _ index: [Int32]) throws(TensorError) -> Variable {
    guard let n = x.shape.last else { throw .shapeMismatch(op: "gather", detail: "x must have rank >= 1") }
    let rows = x.count / max(n, 1)
    guard index.count == rows else {
        throw .shapeMismatch(op: "gather", detail: "x \(shapeString(x.shape)) has \(rows) rows but \(index.count) indices were given")
    }
    for (i, id) in index.enumerated() where id < 0 || Int(id) >= n {
        throw .indexOutOfRange(op: "gather", detail: "index \(id) at row \(i) for a last axis of \(n)")
    }
    let outShape = Array(x.shape.dropLast())
    var y = Tensor(uninitializedShape: outShape)
    let xp = x.value.pointer, yp = y.storage.pointer
    for r in 0..<rows { yp[r] = xp[r * n + Int(index[r])] }
    let inShape = x.shape
    return Tape.output(y, inputs: [x]) { g, _ in
        var dx = Tensor(zeros: inShape)
        let dp = dx.storage.pointer, gp = g.pointer
        for r in 0..<rows { dp[r * n + Int(index[r])] = gp[r] }
        return [dx]
    }
}
