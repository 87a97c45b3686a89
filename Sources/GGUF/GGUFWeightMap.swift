// GGUFWeightMap: the one border between our parameter paths and llama.cpp tensor names
// (`token_embd.weight`, `blk.N.attn_q.weight`, ..., `output_norm.weight`, `output.weight`),
// and the Q/K row permutation convert_hf_to_gguf.py applies for `llama`, undone here.
// Leaves out other architectures' names (MoE experts, fused qkv, ...).

public enum GGUFWeightMap {
    /// Llama 3 rope scaling divisors: read into the config, not a parameter.
    public static let ropeFactors = "rope_freqs.weight"

    /// The GGUF name of one of our parameter paths (e.g. "trunk.blocks.3.q.weight").
    public static func ggufName(_ path: String) -> String? {
        switch path {
        case "trunk.tokenEmbedding.weight": return "token_embd.weight"
        case "trunk.finalNorm.weight": return "output_norm.weight"
        case "lmHead.weight": return "output.weight"
        default: break
        }
        let parts = path.split(separator: ".").map(String.init)
        guard parts.count == 5, parts[0] == "trunk", parts[1] == "blocks" else { return nil }
        let modules = ["attnNorm": "attn_norm", "q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output",
                       "mlpNorm": "ffn_norm", "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down"]
        guard let m = modules[parts[3]] else { return nil }
        return "blk.\(parts[2]).\(m).\(parts[4])"
    }

    /// Whether llama.cpp's converter permuted this architecture's q/k rows (LlamaModel does;
    /// Qwen2Model, which uses NEOX-style rope in llama.cpp, does not).
    public static func permutesQK(architecture: String) -> Bool { architecture == "llama" }

    /// The head count convert_hf_to_gguf.py permuted a tensor with, or nil if it left it alone.
    public static func permutationHeads(_ name: String, architecture: String, heads: Int, kvHeads: Int) -> Int? {
        guard permutesQK(architecture: architecture) else { return nil }
        if name.hasSuffix(".attn_q.weight") || name.hasSuffix(".attn_q.bias") { return heads }
        if name.hasSuffix(".attn_k.weight") || name.hasSuffix(".attn_k.bias") { return kvHeads }
        return nil
    }

    /// Undoes `LlamaModel.permute`: within each head of `headDim` rows, the converter stored
    /// row 2i + j (j in 0, 1) where the original had row j * headDim / 2 + i (rotate-half
    /// pairs interleaved). `rows` = heads x headDim, each `rowLength` values long.
    public static func unpermuteRows(_ src: [Float], heads: Int, rowLength: Int) -> [Float] {
        let rows = src.count / rowLength
        let headDim = rows / heads, half = headDim / 2
        var out = [Float](repeating: 0, count: src.count)
        for h in 0..<heads {
            for i in 0..<half {
                for j in 0..<2 {
                    let from = (h * headDim + 2 * i + j) * rowLength
                    let to = (h * headDim + j * half + i) * rowLength
                    for c in 0..<rowLength { out[to + c] = src[from + c] }
                }
            }
        }
        return out
    }
}
