// Writing a TransformerConfig back as a Hugging Face config.json. A model that was loaded
// keeps its original keys (only architectures / labels change); a model built from
// scratch gets the keys transformers needs to rebuild it.
import Foundation

extension TransformerConfig {
    public enum HeadKind: Sendable { case causalLM, sequenceClassification }

    /// The config dictionary to save. `original` is the loaded config.json, if any.
    public func hfDictionary(head: HeadKind, original: [String: Any]?) -> [String: Any] {
        var d = original ?? freshDictionary()
        let arch: String
        switch (modelType, head) {
        case ("gpt2", .causalLM): arch = "GPT2LMHeadModel"
        case ("gpt2", .sequenceClassification): arch = "GPT2ForSequenceClassification"
        case ("qwen2", .causalLM): arch = "Qwen2ForCausalLM"
        case ("qwen2", .sequenceClassification): arch = "Qwen2ForSequenceClassification"
        case ("mistral", .causalLM): arch = "MistralForCausalLM"
        case ("mistral", .sequenceClassification): arch = "MistralForSequenceClassification"
        case (_, .causalLM): arch = "LlamaForCausalLM"
        case (_, .sequenceClassification): arch = "LlamaForSequenceClassification"
        }
        d["architectures"] = [arch]
        if head == .sequenceClassification {
            d["id2label"] = ["0": "LABEL_0"]
            d["label2id"] = ["LABEL_0": 0]
        } else {
            d.removeValue(forKey: "id2label"); d.removeValue(forKey: "label2id")
        }
        return d
    }

    private func freshDictionary() -> [String: Any] {
        var d: [String: Any] = ["model_type": modelType, "vocab_size": vocabSize, "initializer_range": Double(initializerRange),
                                "tie_word_embeddings": tiedEmbeddings, "torch_dtype": "float32"]
        if let b = bosTokenId { d["bos_token_id"] = b }
        if !eosTokenIds.isEmpty { d["eos_token_id"] = eosTokenIds.count == 1 ? eosTokenIds[0] as Any : eosTokenIds as Any }
        if let p = padTokenId { d["pad_token_id"] = p }
        switch family {
        case .gpt2:
            d["n_embd"] = hiddenSize; d["n_layer"] = layers; d["n_head"] = heads; d["n_positions"] = maxPositions
            d["n_inner"] = intermediateSize; d["layer_norm_epsilon"] = Double(normEps); d["activation_function"] = "gelu_new"
            d["resid_pdrop"] = Double(residualDropout); d["embd_pdrop"] = Double(embeddingDropout); d["attn_pdrop"] = 0.0
        case .llama:
            d["hidden_size"] = hiddenSize; d["num_hidden_layers"] = layers; d["num_attention_heads"] = heads
            d["num_key_value_heads"] = kvHeads; d["head_dim"] = headDim; d["intermediate_size"] = intermediateSize
            d["max_position_embeddings"] = maxPositions; d["rms_norm_eps"] = Double(normEps); d["hidden_act"] = "silu"
            d["attention_bias"] = qkvBias; d["mlp_bias"] = mlpBias
            // Frequencies built by `llama(ropeTheta:)` are the standard ones; recover theta from the second.
            if ropeInvFreq.count > 1 {
                let theta = Foundation.pow(Double(1 / ropeInvFreq[1]), Double(headDim) / 2)
                d["rope_theta"] = theta.rounded()
            }
        }
        return d
    }
}
