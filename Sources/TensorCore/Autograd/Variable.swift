// Variable: a node of the autograd graph — a Tensor value, its accumulated gradient, and
// whether gradients flow to it. Parameters are leaf Variables with `requiresGrad`;
// op outputs recorded on a Tape are interior nodes whose grads are freed after use.

public final class Variable {
    public var value: Tensor
    /// Gradient of the last backward's loss w.r.t. `value`; parameters accumulate across
    /// backward calls until `zeroGrad()` (gradient accumulation).
    public var grad: Tensor?
    /// Whether backward computes a gradient for this leaf. A frozen parameter (LoRA's base
    /// weights) sets it false: ops then skip its gradient GEMM and it never holds a grad.
    /// Op outputs (interior nodes) always require grad; changing theirs is a programming error.
    public var requiresGrad: Bool {
        didSet { precondition(!isInterior || requiresGrad, "requiresGrad of an op output cannot be switched off") }
    }
    /// True for op outputs: their grads are scratch, released once propagated.
    public let isInterior: Bool
    /// Optional human name, used in error messages (e.g. a checkpoint key).
    public var name: String?

    public init(_ value: Tensor, requiresGrad: Bool = false, name: String? = nil) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.isInterior = false
        self.name = name
    }

    init(interior value: Tensor) {
        self.value = value
        self.requiresGrad = true
        self.isInterior = true
    }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }

    public func zeroGrad() { grad = nil }

    /// Adds `g` into `grad` (allocating on first use). Shapes must already match.
    public func accumulateGrad(_ g: Tensor) {
        if var existing = grad {
            grad = nil  // drop our reference so the add can run in place
            Kernels.addInPlace(&existing, g)
            grad = existing
        } else {
            grad = g
        }
    }
}

extension Variable: CustomStringConvertible {
    public var description: String {
        "Variable\(name.map { " \($0)" } ?? "")\(shapeString(shape))\(requiresGrad ? " requiresGrad" : "")"
    }
}
