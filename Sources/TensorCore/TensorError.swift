// TensorError: the one error type of the compute core. Every message names the op and the
// shapes or values involved, so a user can find the failing call without a debugger.
// Which checks run: all of them, always — there are no debug-only checks. Shape checks are
// O(rank) per op; index range checks (embedding, gather, losses) are one pass over the ids
// (measured by `rlhf-bench core`: 0.6% of an embedding lookup of 4 x 256 tokens); losses
// and `Tape.backward` check their scalar for NaN/Inf; `clipGradNorm` checks every gradient
// norm. Kernels past these checks are compiled with -Ounchecked.

public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Operand shapes that the op cannot combine, e.g. `matmul: (2, 3) x (4, 5): inner dimensions 3 != 4`.
    case shapeMismatch(op: String, detail: String)
    /// An index outside its valid range, e.g. a token id >= vocabulary size.
    case indexOutOfRange(op: String, detail: String)
    /// A value that must be finite is NaN or infinite (checked on losses).
    case nonFinite(op: String, detail: String)
    /// Any other invalid argument (negative size, empty axis, bad option).
    case invalidArgument(op: String, detail: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, d): return "\(op): shape mismatch: \(d)"
        case let .indexOutOfRange(op, d): return "\(op): index out of range: \(d)"
        case let .nonFinite(op, d): return "\(op): non-finite value: \(d)"
        case let .invalidArgument(op, d): return "\(op): invalid argument: \(d)"
        }
    }
}

/// Formats a shape the way PyTorch prints it: `(2, 3, 4)`.
@inlinable
public func shapeString(_ shape: [Int]) -> String {
    "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
}
