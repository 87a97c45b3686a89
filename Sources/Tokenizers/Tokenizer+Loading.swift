// Building a `Tokenizer` from files: a directory with tokenizer.json (+ tokenizer_config.json),
// or GPT-2 style vocab.json + merges.txt. Every component type is checked here; one we do
// not implement is a `TokenizerError.unsupported` naming it. Leaves out downloading.
import Foundation

extension Tokenizer {
    /// Loads `tokenizer.json` (or `vocab.json` + `merges.txt`) and the optional
    /// `tokenizer_config.json` from a model directory.
    public convenience init(directory: URL) throws {
        let fm = FileManager.default
        func read(_ name: String) throws -> Data? {
            let url = directory.appendingPathComponent(name)
            guard fm.fileExists(atPath: url.path) else { return nil }
            do { return try Data(contentsOf: url) } catch { throw TokenizerError.io("\(url.path): \(error)") }
        }
        let config = try read("tokenizer_config.json")
        if let json = try read("tokenizer.json") {
            try self.init(tokenizerJSON: json, configJSON: config)
        } else if let vocab = try read("vocab.json"), let merges = try read("merges.txt") {
            try self.init(vocabJSON: vocab, mergesTXT: merges, configJSON: config)
        } else {
            throw TokenizerError.io("\(directory.path) has neither tokenizer.json nor vocab.json + merges.txt")
        }
    }

    /// Builds from the bytes of tokenizer.json and, optionally, tokenizer_config.json.
    public convenience init(tokenizerJSON: Data, configJSON: Data? = nil) throws {
        let j = try JSONValue.parse(tokenizerJSON)
        guard j.objectPairs != nil else { throw TokenizerError.invalidConfig("tokenizer.json is not an object") }
        let config = try configJSON.map { try TokenizerConfig(JSONValue.parse($0)) } ?? TokenizerConfig()
        guard let m = j["model"] else { throw TokenizerError.invalidConfig("tokenizer.json has no model") }
        let modelType = m["type"]?.string ?? (m["merges"] != nil ? "BPE" : "?")
        guard modelType == "BPE" else { throw TokenizerError.unsupported(component: "model", type: modelType) }
        let model = try BPEModel.parse(m)
        func opt<T>(_ key: String, _ f: (JSONValue) throws -> T) throws -> T? {
            guard let v = j[key], !v.isNull else { return nil }
            return try f(v)
        }
        let normalizer = try opt("normalizer", Normalizer.parse)
        let added = try (j["added_tokens"]?.array ?? []).map(AddedToken.parse)
        var cfg = config
        if cfg.unkToken == nil { cfg.unkToken = m["unk_token"]?.string }
        self.init(model: model, normalizer: normalizer,
                  preTokenizer: try opt("pre_tokenizer", PreTokenizer.parse),
                  postProcessor: try opt("post_processor", PostProcessor.parse),
                  decoder: try opt("decoder", Decoder.parse),
                  addedTokens: added,
                  truncation: try opt("truncation", Truncation.parse),
                  padding: try opt("padding", Padding.parse),
                  config: cfg)
    }

    /// GPT-2 style files: byte-level BPE with the GPT-2 split, as transformers builds it.
    /// Special tokens named in tokenizer_config.json become (special) added tokens.
    public convenience init(vocabJSON: Data, mergesTXT: Data, configJSON: Data? = nil) throws {
        guard let vocabPairs = try JSONValue.parse(vocabJSON).objectPairs else {
            throw TokenizerError.invalidConfig("vocab.json is not an object")
        }
        var vocab: [(String, Int)] = []
        for (k, v) in vocabPairs {
            guard let id = v.int else { throw TokenizerError.invalidConfig("vocab.json entry '\(k)' has a non-integer id") }
            vocab.append((k, id))
        }
        guard let text = String(data: mergesTXT, encoding: .utf8) else { throw TokenizerError.invalidConfig("merges.txt is not UTF-8") }
        var merges: [(String, String)] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l.isEmpty || (n == 0 && l.hasPrefix("#version")) { continue }
            merges.append(try BPEModel.parseMerge(.string(String(l)), rank: merges.count))
        }
        let config = try configJSON.map { try TokenizerConfig(JSONValue.parse($0)) } ?? TokenizerConfig()
        let model = try BPEModel(vocab: vocab, merges: merges, unkToken: nil, fuseUnk: false, byteFallback: false,
                                 ignoreMerges: false, prefix: nil, suffix: nil)
        var added: [AddedToken] = []
        for name in [config.bosToken, config.eosToken, config.unkToken, config.padToken].compactMap({ $0 })
        where !added.contains(where: { $0.content == name }) {
            if let id = model.vocab.find(name) {
                added.append(AddedToken(content: name, id: Int(id), special: true, singleWord: false, lstrip: false, rstrip: false, normalized: false))
            }
        }
        self.init(model: model, normalizer: nil, preTokenizer: .byteLevel(addPrefixSpace: false, useRegex: true),
                  postProcessor: .byteLevel, decoder: .byteLevel, addedTokens: added,
                  truncation: nil, padding: nil, config: config)
    }
}
