// SamplingConfig: how the next token is chosen, validated in one place.
// Temperature 0 means greedy. Top-k 0 and top-p 1 mean "off", as in transformers.
import Models

public struct SamplingConfig: Sendable, Equatable, Codable {
    /// New tokens per row, at most (a row also stops at its first EOS).
    public var maxNewTokens: Int = 64
    /// Softmax temperature; 0 = greedy (argmax).
    public var temperature: Float = 1
    /// Keep only the k most likely tokens (0 = off).
    public var topK: Int = 0
    /// Keep the smallest set of most likely tokens whose mass reaches p (1 = off).
    public var topP: Float = 1
    /// Any of these ends a row (included in the response). Empty: rows run to maxNewTokens.
    public var eosTokenIds: [Int32] = []
    /// Fed to finished rows and to the left of short prompts; never read as a token.
    public var padTokenId: Int32 = 0
    /// Row r samples from Philox(seed, stream: r): reproducible per row.
    public var seed: UInt64 = 0

    public init(maxNewTokens: Int = 64, temperature: Float = 1, topK: Int = 0, topP: Float = 1,
                eosTokenIds: [Int32] = [], padTokenId: Int32 = 0, seed: UInt64 = 0) {
        self.maxNewTokens = maxNewTokens; self.temperature = temperature; self.topK = topK; self.topP = topP
        self.eosTokenIds = eosTokenIds; self.padTokenId = padTokenId; self.seed = seed
    }

    public var isGreedy: Bool { temperature == 0 }

    public func validate() throws(GenerationError) {
        guard maxNewTokens >= 1 else { throw .invalidConfig("max_new_tokens must be at least 1, got \(maxNewTokens)") }
        // No model has more positions than this, so a larger value can only be a mistake.
        guard maxNewTokens <= TransformerConfig.Limits.maxPositions else {
            throw .invalidConfig("max_new_tokens must be at most \(TransformerConfig.Limits.maxPositions), got \(maxNewTokens)")
        }
        guard temperature >= 0, temperature.isFinite else { throw .invalidConfig("temperature must be >= 0, got \(temperature)") }
        guard topK >= 0 else { throw .invalidConfig("top_k must be >= 0 (0 = off), got \(topK)") }
        guard topP > 0 && topP <= 1 else { throw .invalidConfig("top_p must be in (0, 1], got \(topP)") }
    }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case invalidPrompt(String)
    case model(String)

    public var description: String {
        switch self {
        case let .invalidConfig(s): return "generation config: \(s)"
        case let .invalidPrompt(s): return "prompt: \(s)"
        case let .model(s): return "model: \(s)"
        }
    }
}
