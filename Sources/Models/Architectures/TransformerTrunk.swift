// TransformerTrunk: token (+ learned position) embeddings, the decoder blocks and the
// final norm: ids in, hidden states (B, T, C) out. The causal-LM and scalar-head models
// put their heads on top of it.
import NN
import TensorCore

public final class TransformerTrunk: Module {
    public let config: TransformerConfig
    public let tokenEmbedding: Embedding
    /// GPT-2 only: learned absolute positions.
    public let positionEmbedding: Embedding?
    public let blocks: [any DecoderBlock]
    public let finalNorm: any Normalization
    /// The config.json this trunk was loaded from (kept so a save writes the same keys).
    public var originalConfig: [String: Any]?
    /// Set by a trainer while it trains; nil (no dropout) everywhere else.
    public var dropout: Dropout?

    /// Switches training dropout on with the batch's row streams (probabilities from the config,
    /// or `override` for both), or off when `rows` is nil or every probability is 0.
    public func setDropout(_ rows: RowStreams?, override: Float? = nil) {
        let (r, e) = override.map { ($0, $0) } ?? (config.residualDropout, config.embeddingDropout)
        dropout = rows.flatMap { r > 0 || e > 0 ? Dropout(residual: r, embedding: e, rows: $0) : nil }
    }

    /// Fresh weights, initialised as transformers does for the family (N(0, initializer_range)).
    public init(config c: TransformerConfig, initializer rng: inout WeightInit) {
        config = c
        tokenEmbedding = Embedding(weight: rng.normal([c.vocabSize, c.hiddenSize], std: c.initializerRange))
        switch c.family {
        case .gpt2:
            positionEmbedding = Embedding(weight: rng.normal([c.maxPositions, c.hiddenSize], std: c.initializerRange))
            blocks = (0..<c.layers).map { _ in GPT2Block(c, initializer: &rng) }
            finalNorm = LayerNorm(dimension: c.hiddenSize, eps: c.normEps)
        case .llama:
            positionEmbedding = nil
            blocks = (0..<c.layers).map { _ in LlamaBlock(c, initializer: &rng) }
            finalNorm = RMSNorm(dimension: c.hiddenSize, eps: c.normEps)
        }
    }

    /// Hidden states (B, T, C) for `batch`. With `cache`, `batch` holds only the new tokens
    /// (their mask and positions) and keys/values are appended to the cache.
    public func callAsFunction(_ batch: TokenBatch, cache: KVCache? = nil) throws(TensorError) -> Variable {
        if let maxPos = batch.positions.max(), Int(maxPos) >= config.maxPositions, positionEmbedding != nil {
            throw .indexOutOfRange(op: "gpt2", detail: "position \(maxPos) >= n_positions \(config.maxPositions)")
        }
        var x = try tokenEmbedding(batch.ids, shape: [batch.batch, batch.time])
        if let positionEmbedding {
            x = try x + positionEmbedding(batch.positions, shape: [batch.batch, batch.time])
        }
        let dropout = cache == nil ? self.dropout : nil
        if let dropout { x = try dropout.apply(x, dropout.embedding) }
        if let cache {
            guard cache.batch == batch.batch else {
                throw .shapeMismatch(op: "KVCache", detail: "cache for batch \(cache.batch), input batch \(batch.batch)")
            }
            cache.extendMask(batch.attentionMask, time: batch.time)
        }
        for (i, block) in blocks.enumerated() {
            x = try block(x, BlockContext(batch: batch, cache: cache?.layers[i], dropout: dropout))
        }
        return try finalNorm(x)
    }

    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        tokenEmbedding.visitParameters(prefix: joinPath(prefix, "tokenEmbedding"), visit)
        positionEmbedding?.visitParameters(prefix: joinPath(prefix, "positionEmbedding"), visit)
        for (i, b) in blocks.enumerated() { b.visitParameters(prefix: joinPath(prefix, "blocks.\(i)"), visit) }
        finalNorm.visitParameters(prefix: joinPath(prefix, "finalNorm"), visit)
    }
}
