// Elementwise unary ops on Variables, each with its backward. The SIMD math is in
// VectorMath; these only wire values and gradients through the tape.
import Foundation

extension Variable {
    public func exp() -> Variable {
        let y = Kernels.mapped(value) { VectorMath.exp($0) }
        return Tape.output(y, inputs: [self]) { g, _ in [Kernels.zipped(g, y) { $0 * $1 }] }
    }

    /// Natural log; non-positive inputs give -inf/NaN as in PyTorch.
    public func log() -> Variable {
        var y = Tensor(uninitializedShape: shape)
        let x = value
        y.withUnsafeMutableBufferPointer { out in
            x.withUnsafeBufferPointer { inp in for i in 0..<inp.count { out[i] = Foundation.log(inp[i]) } }
        }
        return Tape.output(y, inputs: [self]) { g, _ in [Kernels.zipped(g, x) { $0 / $1 }] }
    }

    public func tanh() -> Variable {
        let y = Kernels.mapped(value) { VectorMath.tanh($0) }
        return Tape.output(y, inputs: [self]) { g, _ in
            [Kernels.zipped(g, y) { g, y in g * (1 - y * y) }]
        }
    }

    public func sigmoid() -> Variable {
        let y = Kernels.mapped(value) { VectorMath.sigmoid($0) }
        return Tape.output(y, inputs: [self]) { g, _ in
            [Kernels.zipped(g, y) { g, y in g * y * (1 - y) }]
        }
    }

    /// GELU, tanh approximation (GPT-2's `gelu_new`).
    public func gelu() -> Variable {
        let x = value
        let y = Kernels.mapped(x) { VectorMath.gelu($0) }
        return Tape.output(y, inputs: [self]) { g, _ in
            [Kernels.zipped(x, g) { VectorMath.geluBackward($0, $1) }]
        }
    }

    /// SiLU / swish: x * sigmoid(x) (Llama's MLP activation).
    public func silu() -> Variable {
        let x = value
        let y = Kernels.mapped(x) { VectorMath.silu($0) }
        return Tape.output(y, inputs: [self]) { g, _ in
            [Kernels.zipped(x, g) { VectorMath.siluBackward($0, $1) }]
        }
    }

    public func relu() -> Variable {
        let x = value
        let y = Kernels.mapped(x) { v in
            var r = v; r.replace(with: 0, where: v .< 0); return r
        }
        return Tape.output(y, inputs: [self]) { g, _ in
            [Kernels.zipped(x, g) { x, g in var r = g; r.replace(with: 0, where: x .<= 0); return r }]
        }
    }

    /// x * s for a constant s.
    public func scaled(by s: Float) -> Variable {
        let y = Kernels.mapped(value) { $0 * s }
        return Tape.output(y, inputs: [self]) { g, _ in [Kernels.mapped(g) { $0 * s }] }
    }

    /// x + s for a constant s.
    public func shifted(by s: Float) -> Variable {
        let y = Kernels.mapped(value) { $0 + s }
        return Tape.output(y, inputs: [self]) { g, _ in [g] }
    }

    public func negated() -> Variable { scaled(by: -1) }

    public func squared() -> Variable {
        let x = value
        let y = Kernels.mapped(x) { $0 * $0 }
        return Tape.output(y, inputs: [self]) { g, _ in [Kernels.zipped(x, g) { 2 * $0 * $1 }] }
    }

    public static prefix func - (x: Variable) -> Variable { x.negated() }
}
