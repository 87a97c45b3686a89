// Softmax and log-softmax over the last axis, row by row (rows split across the pool),
// with fused backward kernels: dx = y (dy - Σ dy y) and dx = dy - softmax Σ dy.

extension Kernels {
    /// Writes softmax (or log-softmax) of each length-n row of x into y.
    static func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int, log: Bool) {
        let pool = ThreadPool.shared
        let chunks = Swift.min(pool.threadCount, Swift.max(1, rows * n / parallelThreshold))
        let per = (rows + chunks - 1) / chunks
        let body = { (c: Int) in
            for r in (c * per)..<Swift.min(rows, (c + 1) * per) {
                softmaxRow(x + r * n, y + r * n, n, log: log)
            }
        }
        if chunks <= 1 { body(0) } else { pool.parallelFor(chunks, body) }
    }

    /// Runs body(row) for every row, rows split across the pool as `softmaxRows` splits them.
    static func forRows(_ rows: Int, n: Int, _ body: (Int) -> Void) {
        let pool = ThreadPool.shared
        let chunks = Swift.min(pool.threadCount, Swift.max(1, rows * n / parallelThreshold))
        let per = (rows + chunks - 1) / chunks
        if chunks <= 1 { for r in 0..<rows { body(r) }; return }
        pool.parallelFor(chunks) { c in for r in (c * per)..<Swift.min(rows, (c + 1) * per) { body(r) } }
    }

    /// Σ x[j] y[j] (or Σ x[j] when y is nil) over n floats: 16 Float lanes combined by halves.
    /// (Was a scalar Double loop on one thread: 2x a memcpy from DRAM, 8x in cache.)
    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>?, _ n: Int) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        if let y {
            while i + 16 <= n { acc = acc.addingProduct(load(x, i), load(y, i)); i += 16 }
        } else {
            while i + 16 <= n { acc += load(x, i); i += 16 }
        }
        var s = VectorMath.sum(acc)
        while i < n { s += x[i] * (y?[i] ?? 1); i += 1 }
        return s
    }

    @inline(__always)
    static func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, log: Bool) {
        var mv = V(repeating: -.infinity)
        var i = 0
        while i + 16 <= n { let v = load(x, i); mv.replace(with: v, where: v .> mv); i += 16 }
        var m = VectorMath.max(mv)
        while i < n { m = Swift.max(m, x[i]); i += 1 }
        if m == -.infinity { m = 0 }  // an all -inf row: keep exp(-inf) = 0, sum 0
        let mvec = V(repeating: m)
        var sv = V(repeating: 0)
        i = 0
        while i + 16 <= n {
            let e = VectorMath.exp(load(x, i) - mvec)
            if !log { store(e, y, i) }
            sv += e; i += 16
        }
        var s = VectorMath.sum(sv)
        if i < n {
            let e = VectorMath.exp(loadTail(x, i, n) - mvec)
            var e2 = e
            for j in (n - i)..<16 { e2[j] = 0 }
            s += VectorMath.sum(e2)
            if !log { storeTail(e, y, i, n) }
        }
        if log {
            let lse = V(repeating: m + Foundation.log(s))
            map(x, y, n) { $0 - lse }
        } else {
            let inv = V(repeating: 1 / s)
            map(y, y, n) { $0 * inv }
        }
    }
}

import Foundation

extension Variable {
    public func softmax() throws(TensorError) -> Variable {
        guard let n = shape.last, n > 0 else { throw .invalidArgument(op: "softmax", detail: "needs a non-empty last axis, got \(shapeString(shape))") }
        var y = Tensor(uninitializedShape: shape)
        Kernels.softmaxRows(value.pointer, y.storage.pointer, rows: count / n, n: n, log: false)
        let yv = y
        return Tape.output(y, inputs: [self]) { g, _ in
            var dx = Tensor(uninitializedShape: yv.shape)
            let yp = yv.pointer, gp = g.pointer, dp = dx.storage.pointer
            Kernels.forRows(yv.count / n, n: n) { r in
                let o = r * n
                let d = SIMD16<Float>(repeating: Kernels.dot(yp + o, gp + o, n))
                Kernels.zip(yp + o, gp + o, dp + o, n) { $0 * ($1 - d) }
            }
            return [dx]
        }
    }

    public func logSoftmax() throws(TensorError) -> Variable {
        guard let n = shape.last, n > 0 else { throw .invalidArgument(op: "logSoftmax", detail: "needs a non-empty last axis, got \(shapeString(shape))") }
        var y = Tensor(uninitializedShape: shape)
        Kernels.softmaxRows(value.pointer, y.storage.pointer, rows: count / n, n: n, log: true)
        let yv = y
        return Tape.output(y, inputs: [self]) { g, _ in
            var dx = Tensor(uninitializedShape: yv.shape)
            let yp = yv.pointer, gp = g.pointer, dp = dx.storage.pointer
            Kernels.forRows(yv.count / n, n: n) { r in
                let o = r * n
                let sv = SIMD16<Float>(repeating: Kernels.dot(gp + o, nil, n))
                Kernels.zip(yp + o, gp + o, dp + o, n) { $1 - VectorMath.exp($0) * sv }
            }
            return [dx]
        }
    }
}
