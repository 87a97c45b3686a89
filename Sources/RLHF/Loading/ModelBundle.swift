// ModelBundle: what a Hugging Face model directory gives a trainer or a command — the
// causal LM, its tokenizer, and the ids that end and pad a response. EOS ids come from
// generation_config.json (chat models often end a turn with their own token), else from
// config.json, else from the tokenizer; all of them count. A path ending in `.gguf` is a
// llama.cpp file instead: weights dequantized, tokenizer and ids from its metadata.
import Foundation
import GGUF
import Models
import Tokenizers

public struct ModelBundle {
    public var directory: String
    public var model: CausalLM
    public var tokenizer: Tokenizer
    public var eosTokenIds: [Int32]
    /// Used to pad batches; never read as a token (masks say what is real).
    public var padTokenId: Int32

    public init(directory: String, tokenizerDirectory: String? = nil) throws {
        self.directory = directory
        if directory.lowercased().hasSuffix(".gguf") {
            let g = try GGUFModel(path: directory)
            model = g.model
            tokenizer = try tokenizerDirectory.map(ModelBundle.loadTokenizer) ?? g.tokenizer
            eosTokenIds = g.eosTokenIds
            padTokenId = g.padTokenId
            return
        }
        model = try ModelDirectory.loadCausalLM(directory)
        tokenizer = try ModelBundle.loadTokenizer(tokenizerDirectory ?? directory)
        eosTokenIds = ModelBundle.eosIds(directory: directory, config: model.config, tokenizer: tokenizer)
        padTokenId = Int32(tokenizer.padTokenId ?? model.config.padTokenId ?? eosTokenIds.first.map(Int.init) ?? 0)
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
