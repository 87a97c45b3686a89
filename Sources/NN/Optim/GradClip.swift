// Global gradient-norm clipping as `torch.nn.utils.clip_grad_norm_`: every gradient is
// scaled by min(1, maxNorm / (totalNorm + 1e-6)). A non-finite norm is an error, naming
// the first parameter whose gradient holds NaN/Inf. Both passes run over the pool in fixed
// 64K-element blocks; the norm sums per-block Double partials in block order, so it is the
// same bits at any thread count. Leaves out: other p-norms; the fused clip + AdamW is
// `AdamW.clipAndStep` (AdamW.swift), which never writes the scaled gradients back.
import TensorCore

/// The total L2 norm of all gradients (parameters without one are skipped); throws naming
/// the first parameter whose gradient holds NaN/Inf.
public func gradNorm(_ parameters: [Variable], pool: ThreadPool = .shared) throws(TensorError) -> Float {
    let grads = parameters.map { $0.grad }
    let blocks = ParameterBlocks(counts: grads.map { $0?.count })
    let partials = UnsafeMutablePointer<Double>.allocate(capacity: max(1, blocks.blocks.count))
    defer { partials.deallocate() }
    let shared = UncheckedSendable((partials, grads.map { $0?.pointer }))
    blocks.forEach(pool: pool) { index in
        let (partials, pointers) = shared.value
        let block = blocks.blocks[index]
        partials[index] = sumOfSquares(pointers[block.tensor]!, block.lo, block.hi)
    }
    // Fixed order: block 0, 1, 2, ... whatever thread computed each.
    var sq = 0.0
    for index in blocks.blocks.indices {
        let s = partials[index]
        guard s.isFinite else {
            let p = parameters[blocks.blocks[index].tensor]
            throw .nonFinite(op: "clipGradNorm", detail: "gradient of \(p.name ?? "parameter \(shapeString(p.shape))") contains NaN or Inf")
        }
        sq += s
    }
    return Float(sq.squareRoot())
}

/// The factor clipping multiplies every gradient by: min(1, maxNorm / (total + 1e-6)),
/// computed in Float as torch does.
public func clipCoefficient(totalNorm: Float, maxNorm: Float) -> Float {
    min(1, maxNorm / (totalNorm + 1e-6))
}

/// Returns the total L2 norm of all gradients before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Variable], maxNorm: Float, pool: ThreadPool = .shared) throws(TensorError) -> Float {
    let total = try gradNorm(parameters, pool: pool)
    let coef = clipCoefficient(totalNorm: total, maxNorm: maxNorm)
    guard coef < 1 else { return total }
    // Unique gradient buffers first (on this thread), then one pool job scales all of them.
    var pointers: [UnsafeMutablePointer<Float>?] = []
    for p in parameters {
        guard var g = p.grad else { pointers.append(nil); continue }
        p.grad = nil
        pointers.append(g.withUnsafeMutableBufferPointer { $0.baseAddress! })
        p.grad = g
    }
    let scaled = ParameterBlocks(counts: parameters.map { $0.grad?.count })
    let shared = UncheckedSendable(pointers)
    let s = SIMD16<Float>(repeating: coef)
    scaled.forEach(pool: pool) { index in
        let block = scaled.blocks[index]
        let g = shared.value[block.tensor]!
        var i = block.lo
        while i + 16 <= block.hi { AdamWKernel.store(AdamWKernel.load(g, i) * s, g, i); i += 16 }
        while i < block.hi { g[i] = g[i] * coef; i += 1 }
    }
    return total
}

/// Σ x[i]² over lo..<hi in Double: a SIMD16 Float accumulator, flushed into Double every
/// 64K elements (one block), tail elements in Double — `Kernels.sumOfSquares` on a range.
@inline(__always)
func sumOfSquares(_ p: UnsafePointer<Float>, _ lo: Int, _ hi: Int) -> Double {
    var acc = SIMD16<Float>(repeating: 0)
    var total = 0.0
    var i = lo
    while i < hi {
        let end = min(hi, i + ParameterBlocks.blockSize)
        while i + 16 <= end {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            acc = acc.addingProduct(v, v)
            i += 16
        }
        while i < end { total += Double(p[i]) * Double(p[i]); i += 1 }
        total += Double(VectorMath.sum(acc)); acc = SIMD16<Float>(repeating: 0)
    }
    return total
}
