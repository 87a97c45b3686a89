// Shape and mask validation shared by every RLMath function. Masks are 0/1 Float tensors
// of the data's shape (B, A); padding is never inferred from token ids.
// Leaves out: the formulas themselves (see the files named after them).
import TensorCore

enum Check {
    /// Throws unless every tensor has `shape`, naming the op and the offending argument.
    static func same(_ op: String, _ shape: [Int], _ named: [(String, [Int])]) throws(TensorError) {
        for (name, s) in named where s != shape {
            throw .shapeMismatch(op: op, detail: "\(name) is \(shapeString(s)), expected \(shapeString(shape))")
        }
    }

    /// Throws unless `t` is (B, A).
    static func matrix(_ op: String, _ name: String, _ shape: [Int]) throws(TensorError) -> (Int, Int) {
        guard shape.count == 2 else {
            throw .shapeMismatch(op: op, detail: "\(name) must be (B, A), got \(shapeString(shape))")
        }
        return (shape[0], shape[1])
    }

    /// Number of valid (non-zero) mask entries; throws if there are none.
    static func validCount(_ op: String, _ mask: Tensor) throws(TensorError) -> Int {
        var n = 0
        mask.withUnsafeBufferPointer { m in for v in m where v != 0 { n += 1 } }
        guard n > 0 else { throw .invalidArgument(op: op, detail: "mask \(shapeString(mask.shape)) has no valid entries") }
        return n
    }
}
