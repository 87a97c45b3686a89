// LoRA (Hu et al. 2021): a low-rank update beside a frozen Linear,
// y = base(x) + scaling * B(A(dropout(x))), with A (r, in), B (out, r) — PEFT's `lora.Linear`.
// One `LoRASwitch` is shared by all adapters of a model: turning it off runs the bare base
// (the frozen reference of DPO / RL, no second copy of the weights); it also holds the
// row-keyed dropout streams (`RowStreams`). Leaves out: DoRA, biases on the adapter, other layer types (embedding, conv).
import TensorCore

/// The switches every adapter of one model reads: on/off, and training-time dropout.
public final class LoRASwitch {
    /// false: every adapter passes the base output through unchanged.
    public var enabled = true
    /// Set while training (like `TransformerTrunk.dropout`): adapters with `dropout > 0` draw
    /// each row's mask from that row's stream, one call site after another in call order, so a
    /// row gets the same masks in any batch layout. Setting it restarts the site count.
    public var dropoutRows: RowStreams? { didSet { nextSite = Self.firstSite } }
    /// The next call site's number; the trunk's own dropout uses sites from 0, adapters from 2^20.
    var nextSite = LoRASwitch.firstSite
    static let firstSite = 1 << 20

    public init() {}
}

public final class LoRA: Module {
    public let a: Variable   // (r, in)  PEFT's lora_A.weight
    public let b: Variable   // (out, r) PEFT's lora_B.weight
    /// alpha / r, or alpha / sqrt(r) with rsLoRA (Kalajdzievski 2023).
    public let scaling: Float
    /// Dropout probability on the adapter's input only (the base sees x unchanged).
    public let dropout: Float
    public let control: LoRASwitch

    public var rank: Int { a.shape[0] }

    /// PEFT's default init: A ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0,
    /// so a fresh adapter leaves the model's output unchanged.
    public init(inFeatures: Int, outFeatures: Int, rank: Int, scaling: Float, dropout: Float, control: LoRASwitch,
                rng: inout Philox) {
        let bound = 1 / Float(inFeatures).squareRoot()
        a = makeParameter(Tensor.randomUniform([rank, inFeatures], lo: -bound, hi: bound, rng: &rng))
        b = makeParameter(Tensor(zeros: [outFeatures, rank]))
        self.scaling = scaling; self.dropout = dropout; self.control = control
    }

    /// An adapter with given weights (loaded from a file).
    public init(a: Tensor, b: Tensor, scaling: Float, dropout: Float, control: LoRASwitch) throws(TensorError) {
        guard a.rank == 2, b.rank == 2, b.shape[1] == a.shape[0] else {
            throw .shapeMismatch(op: "LoRA", detail: "A \(shapeString(a.shape)) and B \(shapeString(b.shape)): expected (r, in) and (out, r)")
        }
        self.a = makeParameter(a)
        self.b = makeParameter(b)
        self.scaling = scaling; self.dropout = dropout; self.control = control
    }

    /// base + scaling * B A dropout(x); `base` is the frozen layer's output for `x`.
    public func apply(_ x: Variable, base: Variable) throws(TensorError) -> Variable {
        guard control.enabled else { return base }
        var h = x
        if dropout > 0, let rows = control.dropoutRows {
            h = try x.dropout(dropout, rows: rows, site: control.nextSite)
            control.nextSite += 1
        }
        let low = try linear(h, weight: a)               // (..., r)
        return try addLowRank(base, low: low, b: b, scaling: scaling)
    }

    /// scaling * B A (out, in): what merging adds to the base weight (in our (out, in) layout).
    public func deltaWeight() -> Tensor {
        let (o, r, i) = (b.shape[0], rank, a.shape[1])
        var d = Tensor(uninitializedShape: [o, i])
        let bp = b.value.pointer, ap = a.value.pointer, s = scaling
        d.withUnsafeMutableBufferPointer { c in
            Gemm.multiply(m: o, n: i, k: r, a: bp, lda: r, transA: false, b: ap, ldb: i, transB: false,
                          c: c.baseAddress!, ldc: i, alpha: s)
        }
        return d
    }

    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        visit(joinPath(prefix, "lora_A.weight"), a)
        visit(joinPath(prefix, "lora_B.weight"), b)
    }
}
