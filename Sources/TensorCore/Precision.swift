// Precision: the arithmetic of the matrix products (`linear`, `matmul`, forward and backward).
// fp32 is plain fp32; bf16 rounds both GEMM operands to bfloat16 and accumulates in fp32
// (Gemm+BF16.swift). Weights, gradients, optimizer state, softmax, norms, losses and
// reductions stay fp32 either way. Leaves out: storing tensors in bf16, fp16.

public enum Precision: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case fp32
    case bf16

    /// The precision `linear` and `matmul` use in the current task. Read when the op runs
    /// forward and kept by its backward, so dX and dW are computed in the same precision even
    /// when `backward` runs outside the scope. Set it with `run`, never globally.
    @TaskLocal public static var current: Precision = .fp32

    /// Runs `body` with `current` set to this precision.
    public func run<R>(_ body: () throws -> R) rethrows -> R {
        try Precision.$current.withValue(self, operation: body)
    }

    /// What the products really run in on a CPU whose bf16 kernel is `kernel` (this one's by
    /// default): bf16 without a bf16 kernel runs fp32.
    public func effective(kernel: Gemm.BF16Kernel = Gemm.bf16Kernel) -> Precision {
        self == .bf16 && kernel == .fp32 ? .fp32 : self
    }

    /// One line for logs: nil when the request is honoured as it stands, else what runs instead
    /// and why (so a trainer can say it once at start).
    public func fallbackNote(kernel: Gemm.BF16Kernel = Gemm.bf16Kernel) -> String? {
        guard self == .bf16, effective(kernel: kernel) == .fp32 else { return nil }
        return "precision bf16 requested, but this CPU has no avx512_bf16 (and this build has no AMX kernel):"
            + " matrix products run in fp32"
    }

    public var description: String { rawValue }
}
