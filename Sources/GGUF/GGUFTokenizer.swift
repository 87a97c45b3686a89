// GGUFTokenizer: the Hugging Face tokenizer.json + tokenizer_config.json that a GGUF file's
// `tokenizer.ggml.*` metadata describes, built as the model family ships them (byte-level
// BPE; the split pattern chosen by the `pre` name, as llama.cpp's llama-vocab.cpp does), so
// the same bytes load in our Tokenizer and in transformers. Leaves out SentencePiece
// (`tokenizer.ggml.model` "llama"), WordPiece and the other `pre` names (refused by name).
import Foundation
import Tokenizers

public enum GGUFTokenizer {
    /// How a family splits text before BPE: its normalizer, pre-tokenizer and merge rule.
    enum PreTokenization {
        case gpt2, llama3, qwen2, smollm

        static func named(_ pre: String) -> PreTokenization? {
            switch pre {
            case "gpt2", "gpt-2", "phi-2", "roberta-bpe": return .gpt2
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral": return .llama3
            case "qwen2", "deepseek-r1-qwen": return .qwen2
            case "smollm": return .smollm
            default: return nil
            }
        }
        static let supportedNames = "gpt2, llama-bpe (llama3), qwen2, smollm"

        static let llama3Split = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        static let qwen2Split = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

        var normalizer: Any { self == .qwen2 ? ["type": "NFC"] as [String: Any] : NSNull() }

        var preTokenizer: [String: Any] {
            func byteLevel(_ regex: Bool) -> [String: Any] {
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": regex]
            }
            func split(_ p: String) -> [String: Any] {
                ["type": "Split", "pattern": ["Regex": p], "behavior": "Isolated", "invert": false]
            }
            switch self {
            case .gpt2: return byteLevel(true)
            case .llama3: return ["type": "Sequence", "pretokenizers": [split(Self.llama3Split), byteLevel(false)]]
            case .qwen2: return ["type": "Sequence", "pretokenizers": [split(Self.qwen2Split), byteLevel(false)]]
            case .smollm:
                return ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel(true)]]
            }
        }

        /// Llama 3 tokenizers take a whole pre-token from the vocabulary before merging.
        var ignoreMerges: Bool { self == .llama3 }
    }

    /// GGUF token types (llama.cpp `llama_token_type`).
    enum TokenType: Int { case undefined = 0, normal, unknown, control, userDefined, unused, byte }

    /// (tokenizer.json, tokenizer_config.json) bytes.
    public static func files(_ f: GGUFFile) throws(GGUFError) -> (tokenizerJSON: Data, configJSON: Data) {
        try files(f.metadata)
    }

    /// (tokenizer.json, tokenizer_config.json) from metadata alone.
    public static func files(_ m: GGUFMetadata) throws(GGUFError) -> (tokenizerJSON: Data, configJSON: Data) {
        let path = m.file
        let model = try m.string("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw .unsupported(file: path, detail: "tokenizer.ggml.model \"\(model ?? "(missing)")\" (supported: gpt2, byte-level BPE)")
        }
        let preName = try m.string("tokenizer.ggml.pre") ?? "gpt2"
        guard let pre = PreTokenization.named(preName) else {
            throw .unsupported(file: path, detail: "tokenizer.ggml.pre \"\(preName)\" (supported: \(PreTokenization.supportedNames))")
        }
        guard let tokens = try m.stringArray("tokenizer.ggml.tokens") else {
            throw .metadata(file: path, key: "tokenizer.ggml.tokens", detail: "missing")
        }
        guard let merges = try m.stringArray("tokenizer.ggml.merges") else {
            throw .metadata(file: path, key: "tokenizer.ggml.merges", detail: "missing (a gpt2 tokenizer needs merges)")
        }
        let types = try m.intArray("tokenizer.ggml.token_type") ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw .metadata(file: path, key: "tokenizer.ggml.token_type", detail: "\(types.count) entries for \(tokens.count) tokens")
        }
        func tokenName(_ key: String) throws(GGUFError) -> String? {
            guard let id = try m.int(key) else { return nil }
            guard id >= 0, id < tokens.count else { throw .metadata(file: path, key: key, detail: "id \(id) outside the \(tokens.count)-token vocabulary") }
            return tokens[id]
        }
        let bos = try tokenName("tokenizer.ggml.bos_token_id"), eos = try tokenName("tokenizer.ggml.eos_token_id")
        let pad = try tokenName("tokenizer.ggml.padding_token_id"), unk = try tokenName("tokenizer.ggml.unknown_token_id")
        let addBos = try m.bool("tokenizer.ggml.add_bos_token") ?? (pre == .llama3)
        let addEos = try m.bool("tokenizer.ggml.add_eos_token") ?? false

        var vocab: [String: Any] = [:]
        vocab.reserveCapacity(tokens.count)
        var added: [[String: Any]] = []
        for (id, t) in tokens.enumerated() {
            if vocab[t] == nil { vocab[t] = id }
            let type = TokenType(rawValue: types.isEmpty ? 1 : types[id]) ?? .normal
            if type == .control || type == .unknown || type == .userDefined {
                added.append(["id": id, "content": t, "single_word": false, "lstrip": false, "rstrip": false,
                              "normalized": type == .userDefined, "special": type != .userDefined])
            }
        }
        var post: [String: Any] = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true]
        if (addBos && bos != nil) || (addEos && eos != nil) {
            var single: [[String: Any]] = [], pair: [[String: Any]] = [], specials: [String: Any] = [:]
            func special(_ name: String, _ typeId: Int) -> [String: Any] { ["SpecialToken": ["id": name, "type_id": typeId]] }
            func seq(_ id: String, _ typeId: Int) -> [String: Any] { ["Sequence": ["id": id, "type_id": typeId]] }
            if addBos, let bos { single.append(special(bos, 0)); pair.append(special(bos, 0)) }
            single.append(seq("A", 0)); pair.append(seq("A", 0))
            if addEos, let eos { single.append(special(eos, 0)); pair.append(special(eos, 0)) }
            if addBos, let bos { pair.append(special(bos, 1)) }
            pair.append(seq("B", 1))
            if addEos, let eos { pair.append(special(eos, 1)) }
            for name in [addBos ? bos : nil, addEos ? eos : nil].compactMap({ $0 }) {
                specials[name] = ["id": name, "ids": [tokens.firstIndex(of: name)!], "tokens": [name]]
            }
            post = ["type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials]
        }
        let tokenizer: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": pre.normalizer, "pre_tokenizer": pre.preTokenizer, "post_processor": post,
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false,
                      "ignore_merges": pre.ignoreMerges, "vocab": vocab, "merges": merges] as [String: Any],
        ]
        var config: [String: Any] = ["add_bos_token": addBos, "add_eos_token": addEos, "clean_up_tokenization_spaces": false,
                                     "tokenizer_class": "PreTrainedTokenizerFast"]
        if let bos { config["bos_token"] = bos }
        if let eos { config["eos_token"] = eos }
        if let pad { config["pad_token"] = pad }
        if let unk { config["unk_token"] = unk }
        if let ctx = try m.string("general.architecture").flatMap({ a throws(GGUFError) in try m.int("\(a).context_length") }) {
            config["model_max_length"] = ctx
        }
        if let template = try m.string("tokenizer.chat_template") { config["chat_template"] = template }
        do {
            return (try JSONSerialization.data(withJSONObject: tokenizer, options: [.sortedKeys, .withoutEscapingSlashes]),
                    try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
        } catch {
            throw .underlying(file: path, detail: "could not encode the tokenizer as JSON: \(error)")
        }
    }

    /// Our Tokenizer for the file's vocabulary.
    public static func load(_ f: GGUFFile) throws(GGUFError) -> Tokenizer { try load(f.metadata) }

    /// Our Tokenizer from metadata alone.
    public static func load(_ m: GGUFMetadata) throws(GGUFError) -> Tokenizer {
        let (tok, cfg) = try files(m)
        do { return try Tokenizer(tokenizerJSON: tok, configJSON: cfg) } catch {
            throw .underlying(file: m.file, detail: "tokenizer from metadata: \(error)")
        }
    }
}
