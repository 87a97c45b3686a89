// GGUFConverter: a `.gguf` file written out as a Hugging Face model directory —
// config.json, model.safetensors (Float32), tokenizer.json, tokenizer_config.json (with the
// chat template) and generation_config.json — which transformers and ModelBundle load.
// The directory appears whole or not at all (ModelDirectory.save's rename).
import Foundation
import Models

public enum GGUFConverter {
    public static func convert(gguf path: String, to dir: String) throws {
        let file = try GGUFFile(path: path)
        let model = try GGUFModel.loadCausalLM(file)
        let config = try TransformerConfig.ggufHFDictionary(model.config, file: file)
        model.trunk.originalConfig = config
        let (tokenizerJSON, tokenizerConfig) = try GGUFTokenizer.files(file)
        var generation: [String: Any] = ["_from_model_config": true]
        if let b = model.config.bosTokenId { generation["bos_token_id"] = b }
        let eos = model.config.eosTokenIds
        if !eos.isEmpty { generation["eos_token_id"] = eos.count == 1 ? eos[0] as Any : eos as Any }
        if let p = model.config.padTokenId { generation["pad_token_id"] = p }

        let fm = FileManager.default
        let staging = fm.temporaryDirectory.appendingPathComponent("gguf-convert-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: staging) }
        try tokenizerJSON.write(to: staging.appendingPathComponent("tokenizer.json"))
        try tokenizerConfig.write(to: staging.appendingPathComponent("tokenizer_config.json"))
        try JSONSerialization.data(withJSONObject: generation, options: [.prettyPrinted, .sortedKeys])
            .write(to: staging.appendingPathComponent("generation_config.json"))
        try ModelDirectory.save(model, to: dir, companionsFrom: staging.path)
    }
}
