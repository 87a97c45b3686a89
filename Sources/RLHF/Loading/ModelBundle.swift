// ModelBundle: what a Hugging Face model directory gives a trainer or a command — the
// causal LM, its tokenizer, and the ids that end and pad a response. EOS ids come from
// generation_config.json (chat models often end a turn with their own token), else from
// config.json, else from the tokenizer; all of them count. A path ending in `.gguf` is a
// llama.cpp file instead: weights dequantized, tokenizer and ids from its metadata.
// A LoRA adapter (PEFT folder) comes on top: named with `adapter:`, or given as the model path
// itself, in which case its adapter_config.json's base_model_name_or_path names the base
// (absolute, or relative to the adapter folder). The tokenizer is the base's unless named.
import Foundation
import GGUF
import Models
import Tokenizers

public struct ModelBundle {
    /// The base model: a Hugging Face directory or a .gguf file.
    public var directory: String
    public var model: CausalLM
    /// The LoRA adapter folder loaded on top of the base, and its adapters (attached to `model`,
    /// base frozen); nil for a plain model.
    public var adapterDirectory: String?
    public var adapters: LoRAAdapters?
    public var tokenizer: Tokenizer
    public var eosTokenIds: [Int32]
    /// Used to pad batches; never read as a token (masks say what is real).
    public var padTokenId: Int32

    /// `directory`: a base model (folder or .gguf), or an adapter folder naming its base.
    /// `adapter`: a PEFT LoRA folder to load on top of the base.
    public init(directory: String, adapter: String? = nil, tokenizerDirectory: String? = nil) throws {
        var base = directory, adapter = adapter
        if adapter == nil, try LoRAFiles.isAdapterOnly(directory) {
            base = try ModelBundle.recordedBase(ofAdapter: directory)
            adapter = directory
        }
        self.directory = base
        self.adapterDirectory = adapter
        if base.lowercased().hasSuffix(".gguf") {
            let g = try GGUFModel(path: base)
            model = g.model
            tokenizer = try tokenizerDirectory.map(ModelBundle.loadTokenizer) ?? g.tokenizer
            eosTokenIds = g.eosTokenIds
            padTokenId = g.padTokenId
        } else {
            model = try ModelDirectory.loadCausalLM(base)
            tokenizer = try ModelBundle.loadTokenizer(tokenizerDirectory ?? base)
            eosTokenIds = ModelBundle.eosIds(directory: base, config: model.config, tokenizer: tokenizer)
            padTokenId = Int32(tokenizer.padTokenId ?? model.config.padTokenId ?? eosTokenIds.first.map(Int.init) ?? 0)
        }
        adapters = try adapter.map { try LoRAFiles.load($0, onto: model) }
    }

    /// The base an adapter folder records (base_model_name_or_path), as a path that exists:
    /// absolute, or relative to the adapter folder. A hub id or a missing path is an error
    /// that says how to name the base instead.
    public static func recordedBase(ofAdapter dir: String) throws -> String {
        try LoRAFiles.recordedBase(ofAdapter: dir)
    }

    public static func loadTokenizer(_ dir: String) throws -> Tokenizer {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: dir)
        guard fm.fileExists(atPath: url.appendingPathComponent("tokenizer.json").path)
                || fm.fileExists(atPath: url.appendingPathComponent("vocab.json").path) else {
            throw ModelError.io(path: dir, detail: "no tokenizer.json (or vocab.json + merges.txt) in this directory")
        }
        return try Tokenizer(directory: url)
    }

    public static func eosIds(directory: String, config: TransformerConfig, tokenizer: Tokenizer) -> [Int32] {
        let gen = URL(fileURLWithPath: directory).appendingPathComponent("generation_config.json")
        if let data = try? Data(contentsOf: gen),
           let d = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let n = d["eos_token_id"] as? Int { return [Int32(n)] }
            if let a = d["eos_token_id"] as? [Int], !a.isEmpty { return a.map(Int32.init) }
        }
        if !config.eosTokenIds.isEmpty { return config.eosTokenIds.map(Int32.init) }
        return tokenizer.eosTokenId.map { [Int32($0)] } ?? []
    }
}
