// CausalLM: a trunk and a vocabulary head (tied to the token embedding, or its own
// `lmHead`). Logits (B, T, V); position t predicts token t+1.
import NN
import TensorCore

public final class CausalLM: Module {
    public let trunk: TransformerTrunk
    /// nil when the head is tied to `trunk.tokenEmbedding`.
    public let lmHead: Linear?
    public var config: TransformerConfig { trunk.config }

    public init(config: TransformerConfig, initializer rng: inout WeightInit) {
        trunk = TransformerTrunk(config: config, initializer: &rng)
        lmHead = config.tiedEmbeddings ? nil
            : try! Linear(weight: rng.normal([config.vocabSize, config.hiddenSize], std: config.initializerRange), bias: nil)
    }

    init(trunk: TransformerTrunk, lmHead: Linear?) {
        self.trunk = trunk; self.lmHead = lmHead
    }

    /// Vocabulary logits for hidden states (..., C) -> (..., V).
    public func logits(hidden: Variable) throws(TensorError) -> Variable {
        try linear(hidden, weight: lmHead?.weight ?? trunk.tokenEmbedding.weight)
    }

    public func callAsFunction(_ batch: TokenBatch, cache: KVCache? = nil) throws(TensorError) -> Variable {
        try logits(hidden: trunk(batch, cache: cache))
    }

    /// Mean next-token cross-entropy: logits at t scored against labels at t+1, labels of
    /// -100 (padding, prompt) ignored — transformers' `labels=` loss — and never scored from
    /// a padding position t (its logits are meaningless: it attends to nothing).
    public func loss(_ batch: TokenBatch, labels: [Int32]) throws(TensorError) -> Variable {
        guard labels.count == batch.ids.count else {
            throw .shapeMismatch(op: "CausalLM.loss", detail: "\(labels.count) labels for \(batch.ids.count) tokens")
        }
        let logits = try self(batch)
        var targets = [Int32](repeating: -100, count: labels.count)
        for b in 0..<batch.batch {
            for t in 0..<(batch.time - 1) where batch.attentionMask[b * batch.time + t] != 0 {
                targets[b * batch.time + t] = labels[b * batch.time + t + 1]
            }
        }
        return try crossEntropy(logits: logits, targets: targets)
    }

    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        trunk.visitParameters(prefix: joinPath(prefix, "trunk"), visit)
        lmHead?.visitParameters(prefix: joinPath(prefix, "lmHead"), visit)
    }
}

/// ScalarHeadModel: a trunk and a bias-free C -> 1 `score` head (transformers'
/// *ForSequenceClassification with num_labels = 1). Per-token values for the critic; the
/// value at each row's last real token for the reward model.
public final class ScalarHeadModel: Module {
    public let trunk: TransformerTrunk
    public let score: Linear   // (1, C), no bias

    /// New head: score.weight ~ N(0, initializer_range), as transformers' _init_weights.
    public init(trunk: TransformerTrunk, initializer rng: inout WeightInit) {
        self.trunk = trunk
        score = try! Linear(weight: rng.normal([1, trunk.config.hiddenSize], std: trunk.config.initializerRange), bias: nil)
    }

    init(trunk: TransformerTrunk, score: Linear) {
        self.trunk = trunk; self.score = score
    }

    public var config: TransformerConfig { trunk.config }

    /// (B, T): the head at every position.
    public func values(_ batch: TokenBatch) throws(TensorError) -> Variable {
        try score(trunk(batch)).reshaped([batch.batch, batch.time])
    }

    /// (B,): the head at each row's last real token (the reward of the sequence, docs/algorithms.md §4.2).
    public func lastTokenScores(_ batch: TokenBatch) throws(TensorError) -> Variable {
        let idx = batch.lastRealIndex
        if let empty = idx.firstIndex(of: -1) {
            throw .invalidArgument(op: "ScalarHeadModel", detail: "row \(empty) has no real token")
        }
        return try gatherLastAxis(values(batch), idx.map { Int32($0) })
    }

    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        trunk.visitParameters(prefix: joinPath(prefix, "trunk"), visit)
        score.visitParameters(prefix: joinPath(prefix, "score"), visit)
    }
}
