// Reading a TransformerConfig from GGUF metadata (`{arch}.*` keys, llama.cpp's names) for
// the architectures `llama` and `qwen2`, and the Hugging Face config.json equivalent that a
// converted or re-saved model carries. Leaves out other architectures, partial rotary
// dims, and rope scaling other than none/linear (Llama 3 `rope_freqs` factors included).
// Every size is bounded by `TransformerConfig.Limits` before anything is sized by it.
import Foundation
import Models

extension TransformerConfig {
    /// The architectures mapped onto our Llama-family model.
    public static let ggufArchitectures = ["llama", "qwen2"]

    public static func gguf(_ f: GGUFFile) throws(GGUFError) -> TransformerConfig {
        guard let arch = try f.metadata.string("general.architecture") else {
            throw .metadata(file: f.path, key: "general.architecture", detail: "missing")
        }
        guard ggufArchitectures.contains(arch) else {
            throw .unsupported(file: f.path, detail: "architecture \"\(arch)\" (supported: \(ggufArchitectures.joined(separator: ", ")))")
        }
        let hidden = try f.metadata.requiredInt("\(arch).embedding_length")
        let heads = try f.metadata.requiredInt("\(arch).attention.head_count")
        let kvHeads = try f.metadata.int("\(arch).attention.head_count_kv") ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw .metadata(file: f.path, key: "\(arch).attention.head_count_kv", detail: "\(kvHeads) does not divide head_count \(heads)")
        }
        let headDim = try f.metadata.int("\(arch).attention.key_length") ?? hidden / heads
        // Bound the sizes read so far before the RoPE table (head_dim / 2 values) is built.
        for (key, v, limit) in [("embedding_length", hidden, Limits.hiddenSize), ("attention.head_count", heads, Limits.heads),
                                ("attention.key_length", headDim, Limits.headDim)] where !(1...limit).contains(v) {
            throw .metadata(file: f.path, key: "\(arch).\(key)", detail: "\(v) outside 1...\(limit)")
        }
        if let vd = try f.metadata.int("\(arch).attention.value_length"), vd != headDim {
            throw .unsupported(file: f.path, detail: "\(arch).attention.value_length \(vd) != key_length \(headDim)")
        }
        if let rd = try f.metadata.int("\(arch).rope.dimension_count"), rd != headDim {
            throw .unsupported(file: f.path, detail: "partial rotary embedding (\(arch).rope.dimension_count \(rd), head dim \(headDim))")
        }
        let theta = try f.metadata.double("\(arch).rope.freq_base") ?? 10000
        var invFreq = RoPEFrequencies.standard(headDim: headDim, theta: theta)
        switch try f.metadata.string("\(arch).rope.scaling.type") ?? "none" {
        case "none": break
        case "linear":
            guard let factor = try f.metadata.double("\(arch).rope.scaling.factor") else {
                throw .metadata(file: f.path, key: "\(arch).rope.scaling.factor", detail: "missing (rope.scaling.type is linear)")
            }
            invFreq = RoPEFrequencies.linear(invFreq, factor: factor)
        case let other:
            throw .unsupported(file: f.path, detail: "\(arch).rope.scaling.type \"\(other)\" (supported: none, linear)")
        }
        // Llama 3 files carry their frequency-dependent scaling as per-pair divisors.
        if f.contains(GGUFWeightMap.ropeFactors) {
            let factors = try f.tensor(named: GGUFWeightMap.ropeFactors).scalars
            guard factors.count == invFreq.count else {
                throw .tensor(file: f.path, name: GGUFWeightMap.ropeFactors, detail: "has \(factors.count) values; head dim \(headDim) needs \(invFreq.count)")
            }
            invFreq = zip(invFreq, factors).map { $0 / $1 }
        }
        var vocab = try f.metadata.int("\(arch).vocab_size") ?? f.info("token_embd.weight")?.shape.first
        if vocab == nil { vocab = try f.metadata.stringArray("tokenizer.ggml.tokens")?.count }
        guard let vocab else { throw .metadata(file: f.path, key: "\(arch).vocab_size", detail: "missing (and no token_embd.weight)") }
        let qkvBias = f.contains("blk.0.attn_q.bias")
        if arch == "qwen2", !qkvBias {
            throw .tensor(file: f.path, name: "blk.0.attn_q.bias", detail: "missing (qwen2 has q/k/v biases)")
        }
        let eps = try f.metadata.double("\(arch).attention.layer_norm_rms_epsilon")
        guard let eps else { throw .metadata(file: f.path, key: "\(arch).attention.layer_norm_rms_epsilon", detail: "missing") }
        var eos: [Int] = []
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            if let id = try f.metadata.int(key), !eos.contains(id) { eos.append(id) }
        }
        let config = TransformerConfig(
            family: .llama, modelType: arch, vocabSize: vocab, hiddenSize: hidden,
            layers: try f.metadata.requiredInt("\(arch).block_count"), heads: heads, kvHeads: kvHeads, headDim: headDim,
            intermediateSize: try f.metadata.requiredInt("\(arch).feed_forward_length"),
            maxPositions: try f.metadata.requiredInt("\(arch).context_length"), normEps: Float(eps),
            tiedEmbeddings: !f.contains("output.weight"), qkvBias: qkvBias, outputBias: f.contains("blk.0.attn_output.bias"),
            mlpBias: false, ropeInvFreq: invFreq,
            bosTokenId: try f.metadata.int("tokenizer.ggml.bos_token_id"), eosTokenIds: eos,
            padTokenId: try f.metadata.int("tokenizer.ggml.padding_token_id"))
        do { try config.validateSizes() } catch { throw sizeError(error, arch: arch, file: f.path) }
        return config
    }

    /// The GGUF metadata key that holds a size field (llama.cpp's names).
    public static func ggufKey(_ field: SizeField, arch: String) -> String {
        switch field {
        case .vocabSize: return "\(arch).vocab_size"
        case .hiddenSize: return "\(arch).embedding_length"
        case .layers: return "\(arch).block_count"
        case .heads: return "\(arch).attention.head_count"
        case .kvHeads: return "\(arch).attention.head_count_kv"
        case .headDim: return "\(arch).attention.key_length"
        case .intermediateSize: return "\(arch).feed_forward_length"
        case .maxPositions: return "\(arch).context_length"
        case .bosTokenId: return "tokenizer.ggml.bos_token_id"
        case .eosTokenIds: return "tokenizer.ggml.eos_token_id"
        case .padTokenId: return "tokenizer.ggml.padding_token_id"
        }
    }

    /// A size error as a metadata error naming the key.
    static func sizeError(_ e: SizeError, arch: String, file: String) -> GGUFError {
        guard let field = e.field else { return .metadata(file: file, key: "\(arch).*", detail: "the config \(e.detail)") }
        return .metadata(file: file, key: ggufKey(field, arch: arch), detail: e.detail)
    }

    /// config.json for this GGUF-derived config, as transformers would write it for the
    /// original model. Files with Llama 3 `rope_freqs` factors cannot be expressed (yet).
    public static func ggufHFDictionary(_ c: TransformerConfig, file f: GGUFFile) throws(GGUFError) -> [String: Any] {
        let arch = c.modelType
        if f.contains(GGUFWeightMap.ropeFactors) {
            throw .unsupported(file: f.path, detail: "writing config.json for Llama 3 rope scaling (\(GGUFWeightMap.ropeFactors))")
        }
        // Shortest decimal of the f32 values ("1e-05", not 9.99999974737875e-06).
        func short(_ x: Double) -> Double { Double("\(Float(x))") ?? x }
        var d: [String: Any] = [
            "model_type": arch, "vocab_size": c.vocabSize, "hidden_size": c.hiddenSize,
            "intermediate_size": c.intermediateSize, "num_hidden_layers": c.layers,
            "num_attention_heads": c.heads, "num_key_value_heads": c.kvHeads, "head_dim": c.headDim,
            "max_position_embeddings": c.maxPositions, "rms_norm_eps": short(Double(c.normEps)), "hidden_act": "silu",
            "rope_theta": short(try f.metadata.double("\(arch).rope.freq_base") ?? 10000), "tie_word_embeddings": c.tiedEmbeddings,
            "initializer_range": 0.02, "torch_dtype": "float32", "use_cache": true,
        ]
        if arch == "qwen2" {
            d["use_sliding_window"] = false
        } else {
            d["attention_bias"] = c.qkvBias; d["mlp_bias"] = false
        }
        if try f.metadata.string("\(arch).rope.scaling.type") == "linear", let factor = try f.metadata.double("\(arch).rope.scaling.factor") {
            d["rope_scaling"] = ["rope_type": "linear", "factor": short(factor)]
        }
        if let b = c.bosTokenId { d["bos_token_id"] = b }
        if let e = c.eosTokenIds.first { d["eos_token_id"] = e }
        if let p = c.padTokenId { d["pad_token_id"] = p }
        return d
    }
}
