// Linear: y = x Wᵀ + b with PyTorch's (out, in) weight layout, plus an optional LoRA adapter
// (NN/Layers/LoRA.swift). The adapter's parameters are not listed here: the layer's state is
// the base weights only, so loading and saving a base model ignores adapters.
import TensorCore

public final class Linear: Module {
    public let weight: Variable   // (out, in)
    public let bias: Variable?    // (out,)
    /// When set, the output gains the adapter's low-rank update.
    public var adapter: LoRA?

    /// PyTorch's default init: W, b ~ U(-1/sqrt(in), 1/sqrt(in)).
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, rng: inout Philox) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = makeParameter(Tensor.randomUniform([outFeatures, inFeatures], lo: -bound, hi: bound, rng: &rng))
        self.bias = bias ? makeParameter(Tensor.randomUniform([outFeatures], lo: -bound, hi: bound, rng: &rng)) : nil
    }

    public init(weight: Tensor, bias: Tensor?) throws(TensorError) {
        guard weight.rank == 2, bias == nil || bias!.shape == [weight.shape[0]] else {
            throw .shapeMismatch(op: "Linear", detail: "weight \(shapeString(weight.shape)), bias \(bias.map { shapeString($0.shape) } ?? "none")")
        }
        self.weight = makeParameter(weight)
        self.bias = bias.map { makeParameter($0) }
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public func callAsFunction(_ x: Variable) throws(TensorError) -> Variable {
        let y = try linear(x, weight: weight, bias: bias)
        guard let adapter else { return y }
        return try adapter.apply(x, base: y)
    }

    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        visit(joinPath(prefix, "weight"), weight)
        if let bias { visit(joinPath(prefix, "bias"), bias) }
    }
}
