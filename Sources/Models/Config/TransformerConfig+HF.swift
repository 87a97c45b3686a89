// Reading TransformerConfig from a Hugging Face config.json. The only place HF config key
// names appear. Supported: model_type gpt2, llama, qwen2, mistral. Any option whose value
// would change the computation and that we do not implement (another activation, rope
// type, sliding window in use, ...) is an error naming the key, and so is any size outside
// `TransformerConfig.Limits` (checked before anything is sized by it).
import Foundation

extension TransformerConfig {
    public static func load(configFile path: String) throws(ModelError) -> (TransformerConfig, [String: Any]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io(path: path, detail: "cannot read config.json")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw .config(file: path, detail: "not valid JSON (\(error.localizedDescription))")
        }
        guard let dict = json as? [String: Any] else { throw .config(file: path, detail: "top level is not a JSON object") }
        return (try parse(dict, file: path), dict)
    }

    public static func parse(_ d: [String: Any], file: String) throws(ModelError) -> TransformerConfig {
        let r = Reader(dict: d, file: file)
        guard let modelType = try r.string("model_type") else {
            throw .config(file: file, detail: "missing \"model_type\"")
        }
        switch modelType {
        case "gpt2": return try gpt2(r)
        case "llama", "qwen2", "mistral": return try llama(r, modelType: modelType)
        default:
            throw .unsupported(file: file, detail: "model_type \"\(modelType)\" (supported: gpt2, llama, qwen2, mistral)")
        }
    }

    /// The config.json key that holds a size field, for error messages.
    public static func hfKey(_ field: SizeField, family: ModelFamily) -> String {
        let gpt2 = family == .gpt2
        switch field {
        case .vocabSize: return "vocab_size"
        case .hiddenSize: return gpt2 ? "n_embd" : "hidden_size"
        case .layers: return gpt2 ? "n_layer" : "num_hidden_layers"
        case .heads: return gpt2 ? "n_head" : "num_attention_heads"
        case .kvHeads: return gpt2 ? "n_head" : "num_key_value_heads"
        case .headDim: return gpt2 ? "n_embd / n_head" : "head_dim"
        case .intermediateSize: return gpt2 ? "n_inner" : "intermediate_size"
        case .maxPositions: return gpt2 ? "n_positions" : "max_position_embeddings"
        case .bosTokenId: return "bos_token_id"
        case .eosTokenIds: return "eos_token_id"
        case .padTokenId: return "pad_token_id"
        }
    }

    /// A size error as a config error naming the key in `file`.
    public static func configError(_ e: SizeError, family: ModelFamily, file: String) -> ModelError {
        .config(file: file, detail: e.field.map { "\"\(hfKey($0, family: family))\" \(e.detail)" } ?? "the config \(e.detail)")
    }

    /// Bounds every size before the caller allocates anything from them.
    static func validated(_ c: TransformerConfig, _ r: Reader) throws(ModelError) -> TransformerConfig {
        do { try c.validateSizes() } catch { throw configError(error, family: c.family, file: r.file) }
        return c
    }

    private static func gpt2(_ r: Reader) throws(ModelError) -> TransformerConfig {
        let act = try r.string("activation_function") ?? "gelu_new"
        guard ["gelu_new", "gelu_pytorch_tanh"].contains(act) else {
            throw .unsupported(file: r.file, detail: "activation_function \"\(act)\" (supported: gelu_new, gelu_pytorch_tanh)")
        }
        for flag in ["scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"] where try r.bool(flag) == true {
            throw .unsupported(file: r.file, detail: "\(flag) = true")
        }
        if let s = try r.bool("scale_attn_weights"), !s { throw .unsupported(file: r.file, detail: "scale_attn_weights = false") }
        let hidden = try r.requiredInt("n_embd"), heads = try r.requiredInt("n_head")
        guard hidden <= Limits.hiddenSize else {   // before 4 x n_embd (the n_inner default) can overflow
            throw .config(file: r.file, detail: "\"n_embd\" is \(hidden), above the limit \(Limits.hiddenSize)")
        }
        guard hidden % heads == 0 else { throw .config(file: r.file, detail: "n_embd \(hidden) is not divisible by n_head \(heads)") }
        var config = TransformerConfig(
            family: .gpt2, modelType: "gpt2", vocabSize: try r.requiredInt("vocab_size"), hiddenSize: hidden,
            layers: try r.requiredInt("n_layer"), heads: heads, kvHeads: heads, headDim: hidden / heads,
            intermediateSize: try r.int("n_inner") ?? 4 * hidden, maxPositions: try r.requiredInt("n_positions"),
            normEps: Float(try r.double("layer_norm_epsilon") ?? 1e-5), tiedEmbeddings: try r.bool("tie_word_embeddings") ?? true,
            bosTokenId: try r.int("bos_token_id"), eosTokenIds: try r.intList("eos_token_id"), padTokenId: try r.padTokenId(),
            initializerRange: Float(try r.double("initializer_range") ?? 0.02))
        config.residualDropout = Float(try r.double("resid_pdrop") ?? 0.1)
        config.embeddingDropout = Float(try r.double("embd_pdrop") ?? 0.1)
        return try validated(config, r)
    }

    private static func llama(_ r: Reader, modelType: String) throws(ModelError) -> TransformerConfig {
        let act = try r.string("hidden_act") ?? "silu"
        guard act == "silu" else { throw .unsupported(file: r.file, detail: "hidden_act \"\(act)\" (supported: silu)") }
        let hidden = try r.requiredInt("hidden_size"), heads = try r.requiredInt("num_attention_heads")
        let kvHeads = try r.positiveInt("num_key_value_heads") ?? heads
        guard heads % kvHeads == 0 else {
            throw .config(file: r.file, detail: "num_attention_heads \(heads) is not a multiple of num_key_value_heads \(kvHeads)")
        }
        let headDim = try r.positiveInt("head_dim") ?? hidden / heads
        let maxPos = try r.requiredInt("max_position_embeddings")
        if let tp = try r.int("pretraining_tp"), tp != 1 { throw .unsupported(file: r.file, detail: "pretraining_tp = \(tp)") }
        // Sliding-window attention only matters when enabled and shorter than the context.
        if modelType == "qwen2", try r.bool("use_sliding_window") == true {
            throw .unsupported(file: r.file, detail: "use_sliding_window = true")
        }
        if modelType == "mistral", let w = try r.int("sliding_window"), w < maxPos {
            throw .unsupported(file: r.file, detail: "sliding_window \(w) shorter than max_position_embeddings \(maxPos)")
        }
        let attentionBias = try r.bool("attention_bias") ?? false
        let qkvBias = modelType == "qwen2" ? true : attentionBias
        let outputBias = modelType == "qwen2" ? false : attentionBias
        var config = TransformerConfig(
            family: .llama, modelType: modelType, vocabSize: try r.requiredInt("vocab_size"), hiddenSize: hidden,
            layers: try r.requiredInt("num_hidden_layers"), heads: heads, kvHeads: kvHeads, headDim: headDim,
            intermediateSize: try r.requiredInt("intermediate_size"), maxPositions: maxPos,
            normEps: Float(try r.double("rms_norm_eps") ?? 1e-6), tiedEmbeddings: try r.bool("tie_word_embeddings") ?? false,
            qkvBias: qkvBias, outputBias: outputBias, mlpBias: try r.bool("mlp_bias") ?? false,
            bosTokenId: try r.int("bos_token_id"), eosTokenIds: try r.intList("eos_token_id"), padTokenId: try r.padTokenId(),
            initializerRange: Float(try r.double("initializer_range") ?? 0.02))
        // The frequency table is sized by head_dim: computed only once it is validated.
        config = try validated(config, r)
        config.ropeInvFreq = try ropeFrequencies(r, headDim: headDim)
        return config
    }

    /// Reads `rope_parameters` (transformers 5) or the classic `rope_theta` + `rope_scaling`.
    private static func ropeFrequencies(_ r: Reader, headDim: Int) throws(ModelError) -> [Float] {
        var params = try r.object("rope_parameters") ?? [:]
        if params.isEmpty, let scaling = try r.object("rope_scaling") { params = scaling }
        let p = Reader(dict: params, file: r.file, prefix: params.isEmpty ? "" : (r.has("rope_parameters") ? "rope_parameters." : "rope_scaling."))
        var theta = 10000.0
        if let t = try r.double("rope_theta") { theta = t }
        if let t = try p.double("rope_theta") { theta = t }
        let base = RoPEFrequencies.standard(headDim: headDim, theta: theta)
        var type = "default"
        if let t = try p.string("type") { type = t }
        if let t = try p.string("rope_type") { type = t }
        if let prf = try p.double("partial_rotary_factor"), prf != 1 {
            throw .unsupported(file: r.file, detail: "partial_rotary_factor \(prf)")
        }
        switch type {
        case "default": return base
        case "linear": return RoPEFrequencies.linear(base, factor: try p.requiredDouble("factor"))
        case "llama3":
            return RoPEFrequencies.llama3(base, factor: try p.requiredDouble("factor"),
                                          lowFreqFactor: try p.requiredDouble("low_freq_factor"),
                                          highFreqFactor: try p.requiredDouble("high_freq_factor"),
                                          originalMaxPositions: try p.requiredDouble("original_max_position_embeddings"))
        default:
            throw .unsupported(file: r.file, detail: "rope type \"\(type)\" (supported: default, linear, llama3)")
        }
    }
}

/// Typed access to a JSON object with errors that name the key and the file.
struct Reader {
    let dict: [String: Any]
    let file: String
    var prefix = ""

    func has(_ key: String) -> Bool { dict[key] != nil && !(dict[key] is NSNull) }

    func value(_ key: String) -> Any? {
        guard let v = dict[key], !(v is NSNull) else { return nil }
        return v
    }

    func string(_ key: String) throws(ModelError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v as? String else { throw .config(file: file, detail: "\"\(prefix)\(key)\" must be a string, got \(v)") }
        return s
    }

    func number(_ key: String) throws(ModelError) -> NSNumber? {
        guard let v = value(key) else { return nil }
        guard let n = v as? NSNumber else {
            throw .config(file: file, detail: "\"\(prefix)\(key)\" must be a number, got \(v)")
        }
        return n
    }

    func int(_ key: String) throws(ModelError) -> Int? {
        guard let n = try number(key) else { return nil }
        return try integer(n, key)
    }

    /// `n` as an Int: whole, and inside the 64-bit range (NSNumber.intValue wraps silently).
    func integer(_ n: NSNumber, _ key: String) throws(ModelError) -> Int {
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) < 0x1p63 else {
            throw .config(file: file, detail: "\"\(prefix)\(key)\" must be a 64-bit integer, got \(n)")
        }
        return n.intValue
    }

    /// An optional size: absent is nil, present must be positive.
    func positiveInt(_ key: String) throws(ModelError) -> Int? {
        guard let v = try int(key) else { return nil }
        guard v > 0 else { throw .config(file: file, detail: "\"\(prefix)\(key)\" must be positive, got \(v)") }
        return v
    }

    /// `pad_token_id`; a negative value is how some exports (the original LLaMA) say "none".
    func padTokenId() throws(ModelError) -> Int? {
        guard let p = try int("pad_token_id"), p >= 0 else { return nil }
        return p
    }

    func requiredInt(_ key: String) throws(ModelError) -> Int {
        guard let v = try int(key) else { throw .config(file: file, detail: "missing \"\(prefix)\(key)\"") }
        guard v > 0 else { throw .config(file: file, detail: "\"\(prefix)\(key)\" must be positive, got \(v)") }
        return v
    }

    func double(_ key: String) throws(ModelError) -> Double? { try number(key)?.doubleValue }

    func requiredDouble(_ key: String) throws(ModelError) -> Double {
        guard let v = try double(key) else { throw .config(file: file, detail: "missing \"\(prefix)\(key)\"") }
        return v
    }

    func bool(_ key: String) throws(ModelError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v as? Bool else { throw .config(file: file, detail: "\"\(prefix)\(key)\" must be true or false, got \(v)") }
        return b
    }

    func intList(_ key: String) throws(ModelError) -> [Int] {
        guard let v = value(key) else { return [] }
        if let n = v as? NSNumber { return [try integer(n, key)] }
        if let a = v as? [NSNumber] {
            var out: [Int] = []
            for n in a { out.append(try integer(n, key)) }
            return out
        }
        throw .config(file: file, detail: "\"\(prefix)\(key)\" must be an integer or a list of integers, got \(v)")
    }

    func object(_ key: String) throws(ModelError) -> [String: Any]? {
        guard let v = value(key) else { return nil }
        guard let o = v as? [String: Any] else { throw .config(file: file, detail: "\"\(prefix)\(key)\" must be an object, got \(v)") }
        return o
    }
}
