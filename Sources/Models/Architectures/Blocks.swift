// The two decoder blocks: GPT-2 (pre-LayerNorm, fused qkv, GELU-tanh MLP) and the Llama
// family (pre-RMSNorm, RoPE, grouped-query attention, SwiGLU MLP). Both run either over a
// whole batch (training, scoring; recorded on the tape when one is recording) or
// incrementally against a KV cache (generation; never recorded).
import NN
import TensorCore

/// What a block needs besides its input: masks, positions and, when decoding, the cache.
public struct BlockContext {
    public var batch: TokenBatch
    /// When set: this layer's cache; the batch holds only the new tokens.
    public var cache: LayerCache?
    /// When set: training-time dropout (see `Dropout`).
    public var dropout: Dropout?
}

/// Training-time dropout for a trunk: the probabilities and the row-keyed streams of the batch
/// (`RowStreams`). Each call takes the next site number, so every layer draws its own masks and a
/// row draws the same masks in any batch layout. A trainer installs one per micro-batch (keyed by
/// seed, step and global row, so resumed runs and other rank counts draw the same masks) and
/// removes it for evaluation.
public final class Dropout {
    public let residual: Float
    public let embedding: Float
    public let rows: RowStreams
    /// The next call site; restarts at 0 with each new `Dropout`.
    var site = 0

    public init(residual: Float, embedding: Float, rows: RowStreams) {
        self.residual = residual; self.embedding = embedding; self.rows = rows
    }

    func apply(_ x: Variable, _ p: Float) throws(TensorError) -> Variable {
        guard p > 0 else { return x }
        defer { site += 1 }
        return try x.dropout(p, rows: rows, site: site)
    }
}

public protocol DecoderBlock: Module {
    func callAsFunction(_ x: Variable, _ ctx: BlockContext) throws(TensorError) -> Variable
}

public protocol Normalization: Module {
    func callAsFunction(_ x: Variable) throws(TensorError) -> Variable
}
extension LayerNorm: Normalization {}
extension RMSNorm: Normalization {}

/// Attention over the whole batch, or against the cache when decoding.
func attend(q: Variable, k: Variable, v: Variable, heads: Int, kvHeads: Int, _ ctx: BlockContext) throws(TensorError) -> Variable {
    guard let cache = ctx.cache else {
        return try causalAttention(q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, keyMask: ctx.batch.attentionMask)
    }
    try cache.append(k: k.value, v: v.value)
    let out = try cachedAttention(q: q.value, kCache: cache.k, vCache: cache.v, past: cache.length - ctx.batch.time,
                                  heads: heads, kvHeads: kvHeads, keyMask: cache.mask)
    return Variable(out)
}

public final class GPT2Block: DecoderBlock {
    public let attnNorm: LayerNorm, qkv: Linear, attnOut: Linear
    public let mlpNorm: LayerNorm, mlpUp: Linear, mlpDown: Linear
    let heads: Int, hidden: Int

    public init(_ c: TransformerConfig, initializer rng: inout WeightInit) {
        hidden = c.hiddenSize; heads = c.heads
        let std = c.initializerRange
        // GPT-2's init: N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer); biases 0.
        func lin(_ i: Int, _ o: Int, _ s: Float) -> Linear {
            try! Linear(weight: rng.normal([o, i], std: s), bias: Tensor(zeros: [o]))
        }
        let residStd = std / Float(2 * c.layers).squareRoot()
        attnNorm = LayerNorm(dimension: hidden, eps: c.normEps)
        qkv = lin(hidden, 3 * hidden, std)
        attnOut = lin(hidden, hidden, residStd)
        mlpNorm = LayerNorm(dimension: hidden, eps: c.normEps)
        mlpUp = lin(hidden, c.intermediateSize, std)
        mlpDown = lin(c.intermediateSize, hidden, residStd)
    }

    public func callAsFunction(_ x: Variable, _ ctx: BlockContext) throws(TensorError) -> Variable {
        let fused = try qkv(attnNorm(x))                                  // (B, T, 3C)
        let q = try fused.sliced(axis: 2, 0..<hidden)
        let k = try fused.sliced(axis: 2, hidden..<(2 * hidden))
        let v = try fused.sliced(axis: 2, (2 * hidden)..<(3 * hidden))
        let a = try attend(q: q, k: k, v: v, heads: heads, kvHeads: heads, ctx)
        var o = try attnOut(a)
        if let d = ctx.dropout { o = try d.apply(o, d.residual) }
        let h = try x + o
        var m = try mlpDown(mlpUp(mlpNorm(h)).gelu())
        if let d = ctx.dropout { m = try d.apply(m, d.residual) }
        return try h + m
    }

    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        attnNorm.visitParameters(prefix: joinPath(prefix, "attnNorm"), visit)
        qkv.visitParameters(prefix: joinPath(prefix, "qkv"), visit)
        attnOut.visitParameters(prefix: joinPath(prefix, "attnOut"), visit)
        mlpNorm.visitParameters(prefix: joinPath(prefix, "mlpNorm"), visit)
        mlpUp.visitParameters(prefix: joinPath(prefix, "mlpUp"), visit)
        mlpDown.visitParameters(prefix: joinPath(prefix, "mlpDown"), visit)
    }
}

public final class LlamaBlock: DecoderBlock {
    public let attnNorm: RMSNorm, q: Linear, k: Linear, v: Linear, o: Linear
    public let mlpNorm: RMSNorm, gate: Linear, up: Linear, down: Linear
    let heads: Int, kvHeads: Int, invFreq: [Float]

    public init(_ c: TransformerConfig, initializer rng: inout WeightInit) {
        heads = c.heads; kvHeads = c.kvHeads; invFreq = c.ropeInvFreq
        let std = c.initializerRange
        func lin(_ i: Int, _ o: Int, bias: Bool) -> Linear {
            try! Linear(weight: rng.normal([o, i], std: std), bias: bias ? Tensor(zeros: [o]) : nil)
        }
        let h = c.hiddenSize, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim
        attnNorm = RMSNorm(dimension: h, eps: c.normEps)
        q = lin(h, qd, bias: c.qkvBias); k = lin(h, kvd, bias: c.qkvBias); v = lin(h, kvd, bias: c.qkvBias)
        o = lin(qd, h, bias: c.outputBias)
        mlpNorm = RMSNorm(dimension: h, eps: c.normEps)
        gate = lin(h, c.intermediateSize, bias: c.mlpBias); up = lin(h, c.intermediateSize, bias: c.mlpBias)
        down = lin(c.intermediateSize, h, bias: c.mlpBias)
    }

    public func callAsFunction(_ x: Variable, _ ctx: BlockContext) throws(TensorError) -> Variable {
        let n = try attnNorm(x)
        let pos = ctx.batch.positions
        let qr = try rotaryEmbedding(q(n), heads: heads, positions: pos, invFreq: invFreq)
        let kr = try rotaryEmbedding(k(n), heads: kvHeads, positions: pos, invFreq: invFreq)
        let a = try attend(q: qr, k: kr, v: v(n), heads: heads, kvHeads: kvHeads, ctx)
        let h = try x + o(a)
        let m = try mlpNorm(h)
        return try h + down(gate(m).silu() * up(m))
    }

    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        attnNorm.visitParameters(prefix: joinPath(prefix, "attnNorm"), visit)
        for (name, l) in [("q", q), ("k", k), ("v", v), ("o", o)] { l.visitParameters(prefix: joinPath(prefix, name), visit) }
        mlpNorm.visitParameters(prefix: joinPath(prefix, "mlpNorm"), visit)
        for (name, l) in [("gate", gate), ("up", up), ("down", down)] { l.visitParameters(prefix: joinPath(prefix, name), visit) }
    }
}
