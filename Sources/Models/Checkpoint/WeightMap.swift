// WeightMap: the one border between our parameter paths and Hugging Face tensor names.
// GPT-2 stores its Conv1D weights as (in, out): those are transposed here, both ways.

public enum WeightMap {
    /// HF name prefix of the trunk: "transformer." (GPT-2) or "model." (Llama family).
    public static func trunkPrefix(_ family: ModelFamily) -> String {
        family == .gpt2 ? "transformer." : "model."
    }

    /// (HF name, stored transposed) for one of our paths, e.g. "trunk.blocks.0.qkv.weight".
    public static func hfName(_ path: String, family: ModelFamily) -> (name: String, transposed: Bool) {
        if path == "lmHead.weight" { return ("lm_head.weight", false) }
        if path.hasPrefix("score.") { return (path, false) }
        precondition(path.hasPrefix("trunk."), "WeightMap: unexpected path \(path)")
        let parts = path.dropFirst("trunk.".count).split(separator: ".").map(String.init)
        let prefix = trunkPrefix(family)
        switch (family, parts[0]) {
        case (.gpt2, "tokenEmbedding"): return (prefix + "wte.weight", false)
        case (.gpt2, "positionEmbedding"): return (prefix + "wpe.weight", false)
        case (.gpt2, "finalNorm"): return (prefix + "ln_f." + parts[1], false)
        case (.llama, "tokenEmbedding"): return (prefix + "embed_tokens.weight", false)
        case (.llama, "finalNorm"): return (prefix + "norm." + parts[1], false)
        case (_, "blocks"):
            let layer = parts[1], module = parts[2], tensor = parts[3]
            let gpt2: [String: (String, Bool)] = [
                "attnNorm": ("ln_1", false), "qkv": ("attn.c_attn", true), "attnOut": ("attn.c_proj", true),
                "mlpNorm": ("ln_2", false), "mlpUp": ("mlp.c_fc", true), "mlpDown": ("mlp.c_proj", true),
            ]
            let llama: [String: (String, Bool)] = [
                "attnNorm": ("input_layernorm", false), "q": ("self_attn.q_proj", false), "k": ("self_attn.k_proj", false),
                "v": ("self_attn.v_proj", false), "o": ("self_attn.o_proj", false), "mlpNorm": ("post_attention_layernorm", false),
                "gate": ("mlp.gate_proj", false), "up": ("mlp.up_proj", false), "down": ("mlp.down_proj", false),
            ]
            let (hf, conv1D) = (family == .gpt2 ? gpt2 : llama)[module]!
            let layerWord = family == .gpt2 ? "h" : "layers"
            return ("\(prefix)\(layerWord).\(layer).\(hf).\(tensor)", conv1D && tensor == "weight")
        default:
            preconditionFailure("WeightMap: unexpected path \(path)")
        }
    }

    /// Tensors a checkpoint may hold that are not parameters (buffers of old exports).
    public static func isIgnorable(_ name: String) -> Bool {
        name.hasSuffix(".attn.bias") && !name.contains("c_attn") || name.hasSuffix(".attn.masked_bias")
            || name.hasSuffix("rotary_emb.inv_freq")
    }
}
