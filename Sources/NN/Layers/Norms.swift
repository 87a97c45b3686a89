// LayerNorm (weight and bias) and RMSNorm (weight only) modules over the last axis.
import TensorCore

public final class LayerNorm: Module {
    public let weight: Variable, bias: Variable
    public let eps: Float

    public init(dimension: Int, eps: Float = 1e-5) {
        weight = makeParameter(Tensor(shape: [dimension], repeating: 1))
        bias = makeParameter(Tensor(zeros: [dimension]))
        self.eps = eps
    }

    public func callAsFunction(_ x: Variable) throws(TensorError) -> Variable {
        try layerNorm(x, weight: weight, bias: bias, eps: eps)
    }

    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        visit(joinPath(prefix, "weight"), weight)
        visit(joinPath(prefix, "bias"), bias)
    }
}

public final class RMSNorm: Module {
    public let weight: Variable
    public let eps: Float

    public init(dimension: Int, eps: Float = 1e-6) {
        weight = makeParameter(Tensor(shape: [dimension], repeating: 1))
        self.eps = eps
    }

    public func callAsFunction(_ x: Variable) throws(TensorError) -> Variable {
        try rmsNorm(x, weight: weight, eps: eps)
    }

    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        visit(joinPath(prefix, "weight"), weight)
    }
}
