// TransformerConfig: the one architecture description every model in this package is
// built from, read from a Hugging Face `config.json`. HF key names appear only in
// TransformerConfig+HF.swift; everything else uses these Swift names.

public enum ModelFamily: String, Sendable, Codable {
    /// GPT-2: learned positions, LayerNorm, fused Conv1D qkv, GELU(tanh) MLP, tied head.
    case gpt2
    /// Llama, Qwen2, Mistral: RoPE, RMSNorm, separate q/k/v (grouped-query), SwiGLU MLP.
    case llama
}

public struct TransformerConfig: Sendable, Equatable {
    public var family: ModelFamily
    /// `model_type` as written in config.json ("gpt2", "llama", "qwen2", "mistral").
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// MLP inner width (GPT-2: n_inner or 4 x hidden).
    public var intermediateSize: Int
    /// Longest sequence the position scheme supports (GPT-2: n_positions).
    public var maxPositions: Int
    public var normEps: Float
    public var tiedEmbeddings: Bool
    /// Llama family: bias on q/k/v projections (Qwen2: true) and on the output projection.
    public var qkvBias: Bool
    public var outputBias: Bool
    public var mlpBias: Bool
    /// RoPE inverse frequencies per channel pair (Llama family), scaling already applied.
    public var ropeInvFreq: [Float]
    /// Token ids from config.json; eos may list several.
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    public var padTokenId: Int?
    /// Std of the normal init used for fresh weights (HF `initializer_range`).
    public var initializerRange: Float
    /// GPT-2's resid_pdrop / embd_pdrop: dropout applied only while a trainer switches it
    /// on (`TransformerTrunk.dropout`); generation, scoring and PPO never use it.
    public var residualDropout: Float = 0
    public var embeddingDropout: Float = 0

    public init(family: ModelFamily, modelType: String, vocabSize: Int, hiddenSize: Int, layers: Int, heads: Int,
                kvHeads: Int, headDim: Int, intermediateSize: Int, maxPositions: Int, normEps: Float,
                tiedEmbeddings: Bool, qkvBias: Bool = false, outputBias: Bool = false, mlpBias: Bool = false,
                ropeInvFreq: [Float] = [], bosTokenId: Int? = nil, eosTokenIds: [Int] = [], padTokenId: Int? = nil,
                initializerRange: Float = 0.02) {
        self.family = family; self.modelType = modelType; self.vocabSize = vocabSize; self.hiddenSize = hiddenSize
        self.layers = layers; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
        self.intermediateSize = intermediateSize; self.maxPositions = maxPositions; self.normEps = normEps
        self.tiedEmbeddings = tiedEmbeddings; self.qkvBias = qkvBias; self.outputBias = outputBias; self.mlpBias = mlpBias
        self.ropeInvFreq = ropeInvFreq; self.bosTokenId = bosTokenId; self.eosTokenIds = eosTokenIds
        self.padTokenId = padTokenId; self.initializerRange = initializerRange
    }

    /// A GPT-2-shaped config (GPT-2 124M: hidden 768, 12 layers, 12 heads, vocab 50257).
    public static func gpt2(vocabSize: Int = 50257, hiddenSize: Int = 768, layers: Int = 12, heads: Int = 12,
                            maxPositions: Int = 1024) -> TransformerConfig {
        TransformerConfig(family: .gpt2, modelType: "gpt2", vocabSize: vocabSize, hiddenSize: hiddenSize, layers: layers,
                          heads: heads, kvHeads: heads, headDim: hiddenSize / heads, intermediateSize: 4 * hiddenSize,
                          maxPositions: maxPositions, normEps: 1e-5, tiedEmbeddings: true,
                          bosTokenId: vocabSize - 1, eosTokenIds: [vocabSize - 1])
    }

    /// A Llama-shaped config (SmolLM2-135M: hidden 576, 30 layers, 9 heads, 3 KV heads, FFN 1536, vocab 49152).
    public static func llama(vocabSize: Int = 49152, hiddenSize: Int = 576, layers: Int = 30, heads: Int = 9,
                             kvHeads: Int = 3, intermediateSize: Int = 1536, maxPositions: Int = 8192,
                             ropeTheta: Double = 100000, tiedEmbeddings: Bool = true) -> TransformerConfig {
        let hd = hiddenSize / heads
        return TransformerConfig(family: .llama, modelType: "llama", vocabSize: vocabSize, hiddenSize: hiddenSize,
                                 layers: layers, heads: heads, kvHeads: kvHeads, headDim: hd,
                                 intermediateSize: intermediateSize, maxPositions: maxPositions, normEps: 1e-5,
                                 tiedEmbeddings: tiedEmbeddings, ropeInvFreq: RoPEFrequencies.standard(headDim: hd, theta: ropeTheta),
                                 bosTokenId: 1, eosTokenIds: [2])
    }

    /// Multiply-accumulate FLOPs of one token's forward through the weights (2 x params in
    /// matmuls), plus attention's 2 x 2 x T x hidden per layer; backward is twice that.
    public func forwardFLOPsPerToken(contextLength t: Int) -> Double {
        let c = Double(hiddenSize), q = Double(heads * headDim), kv = Double(kvHeads * headDim)
        let attnProj = c * (q + 2 * kv) + q * c
        let mlp = family == .gpt2 ? 2 * c * Double(intermediateSize) : 3 * c * Double(intermediateSize)
        let perLayer = 2 * (attnProj + mlp) + 2 * 2 * Double(t) * q
        return Double(layers) * perLayer + 2 * c * Double(vocabSize)
    }
}
