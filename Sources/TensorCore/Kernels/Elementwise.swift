// Elementwise kernels: SIMD16 loops over contiguous buffers, split across the thread pool
// only when a tensor is large enough to pay for the fork-join. The tail of each buffer
// goes through the same SIMD code on a zero-padded vector, so results never depend on
// where an element sits. Plain twins live in the tests (Double references).

public enum Kernels {
    public typealias V = SIMD16<Float>

    /// Elements per pool chunk below which a kernel stays on the calling thread.
    public static let parallelThreshold = 1 << 16

    /// Calls body(lo, hi) over [0, n) in a few large chunks (multiples of 16).
    @inline(__always)
    public static func chunked(_ n: Int, _ body: (Int, Int) -> Void) {
        let pool = ThreadPool.shared
        let chunks = min(pool.threadCount, n / parallelThreshold)
        if chunks <= 1 { body(0, n); return }
        let per = ((n + chunks - 1) / chunks + 15) & ~15
        pool.parallelFor(chunks) { c in
            let lo = c * per, hi = min(n, lo + per)
            if lo < hi { body(lo, hi) }
        }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
    }

    @inline(__always)
    static func loadTail(_ p: UnsafePointer<Float>, _ i: Int, _ n: Int) -> V {
        var v = V(repeating: 0)
        for j in 0..<(n - i) { v[j] = p[i + j] }
        return v
    }

    @inline(__always)
    static func storeTail(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) {
        for j in 0..<(n - i) { p[i + j] = v[j] }
    }

    /// y[i] = f(x[i]).
    @inline(__always)
    public static func map(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (V) -> V) {
        chunked(n) { lo, hi in
            var i = lo
            while i + 16 <= hi { store(f(load(x, i)), y, i); i += 16 }
            if i < hi { storeTail(f(loadTail(x, i, hi)), y, i, hi) }
        }
    }

    /// z[i] = f(x[i], y[i]).
    @inline(__always)
    public static func zip(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int, _ f: (V, V) -> V) {
        chunked(n) { lo, hi in
            var i = lo
            while i + 16 <= hi { store(f(load(x, i), load(y, i)), z, i); i += 16 }
            if i < hi { storeTail(f(loadTail(x, i, hi), loadTail(y, i, hi)), z, i, hi) }
        }
    }

    /// w[i] = f(x[i], y[i], z[i]).
    @inline(__always)
    public static func zip3(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafePointer<Float>, _ w: UnsafeMutablePointer<Float>, _ n: Int, _ f: (V, V, V) -> V) {
        chunked(n) { lo, hi in
            var i = lo
            while i + 16 <= hi { store(f(load(x, i), load(y, i), load(z, i)), w, i); i += 16 }
            if i < hi { storeTail(f(loadTail(x, i, hi), loadTail(y, i, hi), loadTail(z, i, hi)), w, i, hi) }
        }
    }

    /// A new tensor of x's shape with f applied to every element.
    @inline(__always)
    public static func mapped(_ x: Tensor, _ f: (V) -> V) -> Tensor {
        var y = Tensor(uninitializedShape: x.shape)
        let yp = y.storage.pointer
        map(x.pointer, yp, x.count, f)
        _ = y.count
        return y
    }

    @inline(__always)
    public static func zipped(_ a: Tensor, _ b: Tensor, _ f: (V, V) -> V) -> Tensor {
        var y = Tensor(uninitializedShape: a.shape)
        zip(a.pointer, b.pointer, y.storage.pointer, a.count, f)
        _ = y.count
        return y
    }

    /// a += b (same element count), in place when a's storage is unshared.
    public static func addInPlace(_ a: inout Tensor, _ b: Tensor) {
        a.makeUnique()
        let ap = a.storage.pointer
        zip(ap, b.pointer, ap, a.count) { $0 + $1 }
    }

    /// a = a * s.
    public static func scaleInPlace(_ a: inout Tensor, _ s: Float) {
        a.makeUnique()
        let ap = a.storage.pointer
        map(ap, ap, a.count) { $0 * V(repeating: s) }
    }

    /// Σ x[i]² in Double (for gradient norms).
    public static func sumOfSquares(_ x: Tensor) -> Double {
        let p = x.pointer, n = x.count
        var acc = V(repeating: 0)
        var total = 0.0
        var i = 0
        // Flush the Float accumulator every 64K elements so long tensors keep precision.
        while i < n {
            let end = min(n, i + 65536)
            while i + 16 <= end { let v = load(p, i); acc = acc.addingProduct(v, v); i += 16 }
            while i < end { total += Double(p[i]) * Double(p[i]); i += 1 }
            total += Double(VectorMath.sum(acc)); acc = V(repeating: 0)
        }
        return total
    }
}
