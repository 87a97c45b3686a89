// Module: anything that owns parameters. Modules list their parameters under dotted,
// stable paths ("layers.3.attn.q.weight"); optimisers, checkpoints and weight maps all
// walk that one list. Leaves out: buffers, hooks, train/eval state (passed explicitly).
import TensorCore

public protocol Module: AnyObject {
    /// Calls `visit` for every parameter, in a stable order, with its path under `prefix`.
    func visitParameters(prefix: String, _ visit: (String, Variable) -> Void)
}

extension Module {
    public func namedParameters() -> [(String, Variable)] {
        var out: [(String, Variable)] = []
        visitParameters(prefix: "") { out.append(($0, $1)) }
        return out
    }

    public func parameters() -> [Variable] { namedParameters().map(\.1) }

    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    public func zeroGrad() { for p in parameters() { p.zeroGrad() } }
}

/// Joins a module path and a child name: "" + "wte" = "wte", "h.0" + "ln_1" = "h.0.ln_1".
public func joinPath(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : prefix + "." + name
}

/// A trainable leaf: a Variable that requires gradients and carries its path as name.
public func makeParameter(_ value: Tensor, name: String? = nil) -> Variable {
    Variable(value, requiresGrad: true, name: name)
}
