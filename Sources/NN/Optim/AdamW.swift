// AdamW exactly as `torch.optim.AdamW` (foreach=False): decoupled weight decay applied to
// the parameter first, m updated by lerp, bias corrections in Double, eps added after
// dividing sqrt(v) by sqrt(1 - beta2^t). One SIMD pass over all parameters, spread over the
// pool in fixed blocks (ParameterBlocks.swift), optionally fused with gradient clipping.
// Leaves out: amsgrad, maximize, capturable variants.
import TensorCore

public struct AdamWConfig: Codable, Sendable, Equatable {
    /// Learning rate (before any schedule multiplier).
    public var lr: Float = 1e-3
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    /// Added to sqrt(v̂) in the denominator.
    public var eps: Float = 1e-8
    /// Decoupled weight decay: p *= 1 - lr * weightDecay each step.
    public var weightDecay: Float = 0.01

    public init(lr: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }
}

public final class AdamW {
    public var config: AdamWConfig
    public let parameters: [Variable]
    /// Per parameter: whether weight decay applies (biases and norms usually excluded).
    public let decays: [Bool]
    /// Per-parameter state, as torch keeps it: step count, exp_avg (m), exp_avg_sq (v).
    public private(set) var steps: [Int]
    public private(set) var m: [Tensor?]
    public private(set) var v: [Tensor?]

    public init(parameters: [Variable], config: AdamWConfig, decays: [Bool]? = nil) {
        self.config = config
        self.parameters = parameters
        self.decays = decays ?? parameters.map { _ in true }
        steps = parameters.map { _ in 0 }
        m = parameters.map { _ in nil }
        v = parameters.map { _ in nil }
    }

    /// Restores state saved from `steps`, `m`, `v` (checkpoint resume).
    public func restore(steps: [Int], m: [Tensor?], v: [Tensor?]) throws(TensorError) {
        guard steps.count == parameters.count, m.count == parameters.count, v.count == parameters.count else {
            throw .shapeMismatch(op: "AdamW.restore", detail: "state for \(steps.count) parameters, optimiser has \(parameters.count)")
        }
        for (i, p) in parameters.enumerated() {
            if let t = m[i], t.shape != p.shape { throw .shapeMismatch(op: "AdamW.restore", detail: "exp_avg \(i) \(shapeString(t.shape)) vs parameter \(shapeString(p.shape))") }
            if let t = v[i], t.shape != p.shape { throw .shapeMismatch(op: "AdamW.restore", detail: "exp_avg_sq \(i) \(shapeString(t.shape)) vs parameter \(shapeString(p.shape))") }
        }
        self.steps = steps; self.m = m; self.v = v
    }

    /// One update of every parameter that has a gradient, each gradient multiplied by
    /// `gradScale` first (in registers; the stored gradients are left as they are).
    /// `lrMultiplier` comes from a schedule. All parameters go through one pool job in
    /// 64K-element blocks: small tensors (biases, norms) no longer run one by one.
    public func step(lrMultiplier: Float = 1, gradScale: Float = 1, pool: ThreadPool = .shared) {
        let lr = config.lr * lrMultiplier
        var work: [AdamWKernel.Operands?] = []
        work.reserveCapacity(parameters.count)
        // 1. On this thread: step counts, lazily created state, unique buffers, per-tensor scalars.
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { work.append(nil); continue }
            steps[i] += 1
            if m[i] == nil { m[i] = Tensor(zeros: p.shape) }
            if v[i] == nil { v[i] = Tensor(zeros: p.shape) }
            let t = Double(steps[i])
            let bc1 = 1 - Double(config.beta1).pow(t)
            let bc2 = 1 - Double(config.beta2).pow(t)
            let scalars = AdamWKernel.Scalars(lr: lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps,
                                              weightDecay: decays[i] ? config.weightDecay : 0,
                                              stepSize: Float(Double(lr) / bc1), bc2Sqrt: Float(bc2.squareRoot()),
                                              gradScale: gradScale)
            work.append(AdamWKernel.Operands(
                param: p.value.withUnsafeMutableBufferPointer { $0.baseAddress! }, grad: g.pointer,
                m: m[i]!.withUnsafeMutableBufferPointer { $0.baseAddress! },
                v: v[i]!.withUnsafeMutableBufferPointer { $0.baseAddress! }, scalars: scalars))
        }
        // 2. One pass over every parameter's blocks, spread over the pool. Elementwise, so any
        //    partition gives the same bits.
        let blocks = ParameterBlocks(counts: parameters.indices.map { work[$0] == nil ? nil : parameters[$0].count })
        let shared = UncheckedSendable(work)
        blocks.forEach(pool: pool) { index in
            let block = blocks.blocks[index]
            AdamWKernel.update(shared.value[block.tensor]!, block.lo, block.hi)
        }
    }

    /// Gradient-norm clipping fused with the update: one read-only pass for the global norm
    /// (GradClip.swift), then `step` scales each gradient by the clip coefficient in registers,
    /// instead of clipping writing every gradient back and AdamW reading it again. Same bits
    /// as `clipGradNorm` followed by `step()`; the stored gradients stay unclipped.
    /// Returns the total norm before clipping; throws (before any update) on NaN/Inf.
    @discardableResult
    public func clipAndStep(maxNorm: Float, lrMultiplier: Float = 1, pool: ThreadPool = .shared) throws(TensorError) -> Float {
        let total = try gradNorm(parameters, pool: pool)
        step(lrMultiplier: lrMultiplier, gradScale: clipCoefficient(totalNorm: total, maxNorm: maxNorm), pool: pool)
        return total
    }
}

extension Double {
    fileprivate func pow(_ e: Double) -> Double {
        var r = 1.0
        for _ in 0..<Int(e) { r *= self }
        return r
    }
}

public enum AdamWKernel {
    /// Per-tensor constants of one step.
    struct Scalars {
        let lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
        /// lr / (1 - beta1^t) and sqrt(1 - beta2^t), computed in Double by the caller.
        let stepSize: Float, bc2Sqrt: Float
        /// Multiplies the gradient before use (the clip coefficient; 1 = none).
        let gradScale: Float
    }

    /// One tensor's buffers and constants (pointers stay valid while the caller holds the tensors).
    struct Operands {
        let param: UnsafeMutablePointer<Float>
        let grad: UnsafePointer<Float>
        let m: UnsafeMutablePointer<Float>
        let v: UnsafeMutablePointer<Float>
        let scalars: Scalars
    }

    public static func update(param: inout Tensor, grad: Tensor, m: inout Tensor, v: inout Tensor,
                              lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float,
                              stepSize: Float, bc2Sqrt: Float) {
        let operands = UncheckedSendable(Operands(
            param: param.withUnsafeMutableBufferPointer { $0.baseAddress! }, grad: grad.pointer,
            m: m.withUnsafeMutableBufferPointer { $0.baseAddress! }, v: v.withUnsafeMutableBufferPointer { $0.baseAddress! },
            scalars: Scalars(lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
                             stepSize: stepSize, bc2Sqrt: bc2Sqrt, gradScale: 1)))
        Kernels.chunked(param.count) { lo, hi in update(operands.value, lo, hi) }
    }

    /// Elements lo..<hi of one tensor, in one SIMD16 pass.
    @inline(__always)
    static func update(_ o: Operands, _ lo: Int, _ hi: Int) {
        typealias V = SIMD16<Float>
        let s = o.scalars
        let decay = V(repeating: 1 - s.lr * s.weightDecay)
        let w1 = 1 - s.beta1
        let b2 = V(repeating: s.beta2), w2 = V(repeating: 1 - s.beta2)
        let ss = V(repeating: s.stepSize), bc = V(repeating: s.bc2Sqrt), ep = V(repeating: s.eps)
        let gs = V(repeating: s.gradScale)
        // torch's lerp: self + w (end - self) for w < 0.5, else end - (end - self)(1 - w).
        let lowWeight = w1 < 0.5
        let wv = V(repeating: w1), omw = V(repeating: 1 - w1)
        @inline(__always) func kernel(_ p: V, _ rawG: V, _ m: V, _ v: V) -> (V, V, V) {
            let g = rawG * gs
            let p1 = p * decay
            let m1 = lowWeight ? m + wv * (g - m) : g - (g - m) * omw
            let v1 = v * b2 + (w2 * g) * g
            let denom = v1.squareRoot() / bc + ep
            return (p1 - ss * (m1 / denom), m1, v1)
        }
        let p = o.param, gp = o.grad, mm = o.m, vv = o.v
        var i = lo
        while i + 16 <= hi {
            let (a, b, c) = kernel(load(p, i), load(gp, i), load(mm, i), load(vv, i))
            store(a, p, i); store(b, mm, i); store(c, vv, i)
            i += 16
        }
        while i < hi {
            let (a, b, c) = kernel(V(repeating: p[i]), V(repeating: gp[i]), V(repeating: mm[i]), V(repeating: vv[i]))
            p[i] = a[0]; mm[i] = b[0]; vv[i] = c[0]
            i += 1
        }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }
    @inline(__always) static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD16<Float>.self)
    }
}
