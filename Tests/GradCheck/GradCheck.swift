// Finite-difference gradient checking against Double references, shared by the test
// targets (TensorCoreTests, RLMathTests) as a support library.
// For each case: (1) our Float forward must match a plain-loop Double reference forward;
// (2) our analytic gradients of L = Σ out·R (R random) must match central differences of
// the *Double* reference, where Float32 rounding cannot hide an error.
import Testing
import TensorCore

public struct GradCase {
    public var name: String
    public var inputs: [Tensor]
    /// Which inputs to differentiate (others are constants, e.g. ids or masks).
    public var differentiable: [Bool]?
    public var ours: ([Variable]) throws -> Variable
    public var reference: ([[Double]]) -> [Double]
    public var forwardTolerance: Double
    public var gradTolerance: Double

    public init(name: String, inputs: [Tensor], differentiable: [Bool]? = nil, ours: @escaping ([Variable]) throws -> Variable,
                reference: @escaping ([[Double]]) -> [Double], forwardTolerance: Double = 1e-4, gradTolerance: Double = 2e-3) {
        self.name = name; self.inputs = inputs; self.differentiable = differentiable; self.ours = ours
        self.reference = reference; self.forwardTolerance = forwardTolerance; self.gradTolerance = gradTolerance
    }
}

/// Deterministic random Float tensor in [lo, hi).
public func rand(_ shape: [Int], seed: UInt64, lo: Float = -1, hi: Float = 1) -> Tensor {
    var rng = Philox(seed: seed)
    return Tensor.randomUniform(shape, lo: lo, hi: hi, rng: &rng)
}

public func check(_ c: GradCase, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let diffable = c.differentiable ?? c.inputs.map { _ in true }
    let vars = zip(c.inputs, diffable).map { Variable($0, requiresGrad: $1) }
    let tape = Tape()
    let out = try tape.record { try c.ours(vars) }
    let refInputs = c.inputs.map { $0.scalars.map(Double.init) }
    let refOut = c.reference(refInputs)
    try #require(out.count == refOut.count, "\(c.name): output has \(out.count) elements, reference \(refOut.count)", sourceLocation: sourceLocation)
    let fwd = out.value.scalars
    var worst = (0, 0.0)
    for i in 0..<fwd.count {
        let err = abs(Double(fwd[i]) - refOut[i]) / max(1, abs(refOut[i]))
        if err > worst.1 { worst = (i, err) }
    }
    #expect(worst.1 <= c.forwardTolerance,
            "\(c.name) forward: worst rel err \(worst.1) at \(worst.0): ours \(fwd[worst.0]) vs ref \(refOut[worst.0])",
            sourceLocation: sourceLocation)

    let r = rand(out.shape, seed: 777, lo: -1, hi: 1)
    let rd = r.scalars.map(Double.init)
    try tape.backward(out, seed: r)
    func loss(_ ins: [[Double]]) -> Double {
        let o = c.reference(ins)
        var s = 0.0
        for i in 0..<o.count { s += o[i] * rd[i] }
        return s
    }
    for (k, v) in vars.enumerated() where diffable[k] {
        let analytic = try #require(v.grad, "\(c.name): input \(k) got no gradient", sourceLocation: sourceLocation).scalars
        var ins = refInputs
        var firstBad: String? = nil
        var maxErr = 0.0
        for i in 0..<ins[k].count {
            let x0 = ins[k][i]
            let h = 1e-6 * max(1, abs(x0))
            ins[k][i] = x0 + h; let lp = loss(ins)
            ins[k][i] = x0 - h; let lm = loss(ins)
            ins[k][i] = x0
            let numeric = (lp - lm) / (2 * h)
            let err = abs(Double(analytic[i]) - numeric) / max(1, abs(numeric))
            if err > maxErr { maxErr = err }
            if err > c.gradTolerance && firstBad == nil {
                firstBad = "element \(i): analytic \(analytic[i]) vs numeric \(numeric)"
            }
        }
        #expect(firstBad == nil, "\(c.name) d/d input \(k): \(firstBad ?? ""), max rel err \(maxErr)", sourceLocation: sourceLocation)
    }
}

/// Shape helpers for the Double references.
public func strides(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    for i in stride(from: shape.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * shape[i + 1] }
    return s
}
