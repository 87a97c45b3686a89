// Softplus and log-sigmoid, the numerically stable pieces of Bradley-Terry and DPO losses:
// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|), logSigmoid(x) = -softplus(-x).
// Scalar Foundation math (log1p has no SIMD twin here); these run on (B,) vectors only.
// Leaves out: PyTorch's `beta`/`threshold` arguments (the form above never overflows).
import Foundation

extension Variable {
    /// log(1 + exp(x)), elementwise; d/dx = sigmoid(x).
    public func softplus() -> Variable {
        let x = value
        var y = Tensor(uninitializedShape: shape)
        y.withUnsafeMutableBufferPointer { out in
            x.withUnsafeBufferPointer { inp in
                for i in 0..<inp.count { out[i] = Swift.max(inp[i], 0) + Foundation.log1p(Foundation.exp(-Swift.abs(inp[i]))) }
            }
        }
        return Tape.output(y, inputs: [self]) { g, _ in
            [Kernels.zipped(x, g) { x, g in g * VectorMath.sigmoid(x) }]
        }
    }

    /// log(sigmoid(x)) = -softplus(-x), elementwise; d/dx = sigmoid(-x) = 1 - sigmoid(x).
    public func logSigmoid() -> Variable {
        let x = value
        var y = Tensor(uninitializedShape: shape)
        y.withUnsafeMutableBufferPointer { out in
            x.withUnsafeBufferPointer { inp in
                for i in 0..<inp.count { out[i] = Swift.min(inp[i], 0) - Foundation.log1p(Foundation.exp(-Swift.abs(inp[i]))) }
            }
        }
        return Tape.output(y, inputs: [self]) { g, _ in
            [Kernels.zipped(x, g) { x, g in g * VectorMath.sigmoid(-x) }]
        }
    }
}
