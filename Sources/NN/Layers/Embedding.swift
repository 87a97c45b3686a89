// Embedding: a (V, C) table looked up by integer ids.
import TensorCore

public final class Embedding: Module {
    public let weight: Variable   // (V, C)

    /// PyTorch's default init: N(0, 1). (GPT-style models re-initialise with N(0, 0.02).)
    public init(count: Int, dimension: Int, std: Float = 1, rng: inout Philox) {
        weight = makeParameter(Tensor.randomNormal([count, dimension], std: std, rng: &rng))
    }

    public init(weight: Tensor) { self.weight = makeParameter(weight) }

    /// ids of shape `shape` -> (shape..., C).
    public func callAsFunction(_ ids: [Int32], shape: [Int]) throws(TensorError) -> Variable {
        try embedding(ids, shape: shape, table: weight)
    }

    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        visit(joinPath(prefix, "weight"), weight)
    }
}
