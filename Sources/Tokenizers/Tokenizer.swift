// `Tokenizer`: a Hugging Face `tokenizer.json` pipeline (added tokens -> normalizer ->
// pre-tokenizer -> BPE -> post-processor; decoder for the way back) giving the same ids as
// the `tokenizers` library. Loading lives in Tokenizer+Loading.swift, batches in
// Tokenizer+Batch.swift, chat templates in ChatTemplate.swift. Leaves out offsets, type
// ids and non-BPE models (WordPiece, Unigram, WordLevel: a clear `unsupported` error).
import Foundation

public final class Tokenizer: @unchecked Sendable {
    let model: BPEModel
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: Decoder?
    let added: AddedVocabulary
    /// Truncation/padding stored in tokenizer.json (usually null); applied as HF applies them.
    let defaultTruncation: Truncation?
    let defaultPadding: Padding?

    /// Special tokens named by tokenizer_config.json (nil when it does not name one).
    public let bosToken: String?
    public let eosToken: String?
    public let padToken: String?
    public let unkToken: String?
    /// The default chat template, and any named ones (`chat_template` as a list).
    public let chatTemplate: String?
    public let namedChatTemplates: [String: String]
    /// Every added token from tokenizer.json, in file order.
    public var addedTokens: [AddedToken] { added.tokens }

    /// The largest token id a file may use. Ids index tables sized by the largest one (and are
    /// Int32 in batches), so an id near 2^62 must fail at load. The largest shipped vocabularies
    /// hold about 2^18 tokens (Gemma 3: 262 144); 2^24 leaves room and keeps tables under 256 MiB.
    public static let maxTokenId = (1 << 24) - 1
    /// The longest truncation or padding length a file may ask for (2^24 ids: 16x the
    /// longest context of released models), so padded rows stay allocatable.
    public static let maxSequenceLength = 1 << 24

    /// `id` from a file, checked against 0...maxTokenId; `what` names where it came from.
    static func checkedId(_ id: Int, _ what: @autoclosure () -> String) throws -> Int32 {
        guard id >= 0, id <= maxTokenId else {
            throw TokenizerError.invalidConfig("\(what()): id \(id) outside 0...\(maxTokenId) (Tokenizer.maxTokenId)")
        }
        return Int32(id)
    }

    init(model: BPEModel, normalizer: Normalizer?, preTokenizer: PreTokenizer?, postProcessor: PostProcessor?,
         decoder: Decoder?, addedTokens: [AddedToken], truncation: Truncation?, padding: Padding?,
         config: TokenizerConfig) {
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.added = AddedVocabulary(addedTokens, normalizer: normalizer)
        self.defaultTruncation = truncation
        self.defaultPadding = padding
        self.bosToken = config.bosToken
        self.eosToken = config.eosToken
        self.padToken = config.padToken
        self.unkToken = config.unkToken
        self.chatTemplate = config.chatTemplate
        self.namedChatTemplates = config.namedChatTemplates
    }

    // MARK: vocabulary

    public var bosTokenId: Int? { bosToken.flatMap(tokenToId) }
    public var eosTokenId: Int? { eosToken.flatMap(tokenToId) }
    public var padTokenId: Int? { padToken.flatMap(tokenToId) }
    public var unkTokenId: Int? { unkToken.flatMap(tokenToId) }

    /// Size including added tokens (HF `get_vocab_size(with_added_tokens=True)`).
    public var vocabSize: Int {
        var ids = Set<Int>()
        for (id, t) in model.idToToken.enumerated() where t != nil { ids.insert(id) }
        for t in added.tokens { ids.insert(t.id) }
        return ids.count
    }

    public func tokenToId(_ token: String) -> Int? {
        if let id = added.byContent[token] { return id }
        return model.vocab.find(token).map(Int.init)
    }

    public func idToToken(_ id: Int) -> String? {
        if let t = added.byId[id] { return t }
        guard id >= 0, id < model.idToToken.count else { return nil }
        return model.idToToken[id]
    }

    // MARK: encoding

    /// Ids of `text` as `tokenizer.encode(text, add_special_tokens:).ids` gives them.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids = modelIds(text)
        if let t = defaultTruncation { ids = t.truncate(ids, reserve: addSpecialTokens ? (postProcessor?.addedTokens(pair: false) ?? 0) : 0) }
        return finish(ids, nil, addSpecialTokens: addSpecialTokens).map(Int.init)
    }

    /// Ids of a pair of texts (the post-processor's `pair` template).
    public func encode(_ text: String, pair: String, addSpecialTokens: Bool = true) -> [Int] {
        finish(modelIds(text), modelIds(pair), addSpecialTokens: addSpecialTokens).map(Int.init)
    }

    /// Ids of raw bytes: invalid UTF-8 is first replaced by U+FFFD, one per maximal invalid
    /// subsequence (what Python's `bytes.decode("utf-8", "replace")` produces before HF sees it).
    public func encode(bytes: [UInt8], addSpecialTokens: Bool = true) -> [Int] {
        encode(String(decoding: bytes, as: UTF8.self), addSpecialTokens: addSpecialTokens)
    }

    /// The same ids computed with the plain O(n^2) merge loop and no cache: the twin that
    /// tests hold the fast path to.
    public func encodeReference(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int32] = []
        let pieces = pieces(text)
        pieces.buf.withUnsafeBufferPointer { b in
            for p in pieces.list {
                if p.id >= 0 { ids.append(p.id); continue }
                let w = UnsafeBufferPointer(rebasing: b[p.start..<p.end])
                if w.isEmpty { continue }
                if model.ignoreMerges, let id = model.vocab.find(UnsafeRawBufferPointer(w)) { ids.append(id); continue }
                model.mergeWord(w, into: &ids, reference: true)
            }
        }
        return finish(ids, nil, addSpecialTokens: addSpecialTokens).map(Int.init)
    }

    /// The pre-tokens the model sees (after added tokens, normalizer and pre-tokenizer);
    /// added tokens appear as their content. For tests and debugging.
    public func preTokenize(_ text: String) -> [String] {
        let p = pieces(text)
        return p.list.map { piece in
            piece.id >= 0 ? (idToToken(Int(piece.id)) ?? "") : String(decoding: p.buf[piece.start..<piece.end], as: UTF8.self)
        }
    }

    func pieces(_ text: String) -> Pieces {
        var p = added.extractAndNormalize(text, normalizer: normalizer)
        preTokenizer?.apply(&p)
        return p
    }

    /// Model ids before post-processing.
    func modelIds(_ text: String) -> [Int32] {
        let p = pieces(text)
        var ids: [Int32] = []
        ids.reserveCapacity(p.buf.count / 3 + 4)
        model.withCache { useCache in
            p.buf.withUnsafeBufferPointer { b in
                for piece in p.list {
                    if piece.id >= 0 { ids.append(piece.id); continue }
                    model.encode(UnsafeBufferPointer(rebasing: b[piece.start..<piece.end]), into: &ids, useCache: useCache)
                }
            }
        }
        return ids
    }

    func finish(_ a: [Int32], _ b: [Int32]?, addSpecialTokens: Bool) -> [Int32] {
        guard addSpecialTokens, let pp = postProcessor else { return a + (b ?? []) }
        return pp.process(a, b)
    }

    // MARK: decoding

    /// Text for `ids` as `tokenizer.decode(ids, skip_special_tokens:)` gives it. Ids outside
    /// the vocabulary are skipped, as HF skips them.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if skipSpecialTokens && added.specialIds.contains(id) { continue }
            if let t = idToToken(id) { tokens.append(t) }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }
}
