// Golden tests: ids and decoded text identical to Hugging Face `tokenizers` for every
// fixture pipeline (GPT-2, Llama 3, Qwen2, SentencePiece-BPE legacy/Metaspace, added
// tokens, suffix BPE), plus the plain-twin BPE, vocab.json+merges.txt loading and batches.
import Foundation
import Testing
import Tokenizers

@Suite struct EncodeFixtureTests {
    @Test(arguments: Fixtures.tokenizerNames)
    func idsMatchHuggingFace(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        for c in try Fixtures.cases(name) {
            let got = tok.encode(c.text)
            #expect(got == c.ids, "\(name) \(c.text.debugDescription): \(firstDifference(got, c.ids))")
            let ns = tok.encode(c.text, addSpecialTokens: false)
            #expect(ns == c.idsNoSpecial, "\(name) no-special \(c.text.debugDescription): \(firstDifference(ns, c.idsNoSpecial))")
        }
    }

    @Test(arguments: Fixtures.tokenizerNames)
    func decodeMatchesHuggingFace(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        for c in try Fixtures.cases(name) {
            #expect(tok.decode(c.ids) == c.decoded, "\(name) decode \(c.text.debugDescription)")
            #expect(tok.decode(c.ids, skipSpecialTokens: true) == c.decodedSkip, "\(name) decode(skip) \(c.text.debugDescription)")
        }
    }

    /// Byte-level pipelines lose nothing: decode(encode(x)) == x (Qwen2 up to NFC).
    @Test(arguments: ["gpt2", "llama3", "qwen2"])
    func byteLevelRoundTrip(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        for c in try Fixtures.cases(name) {
            let want = name == "qwen2" ? c.text.precomposedStringWithCanonicalMapping : c.text
            #expect(tok.decode(tok.encode(c.text, addSpecialTokens: false)) == want, "\(name) \(c.text.debugDescription)")
        }
    }

    /// The heap-and-cache BPE agrees with the plain O(n^2) merge loop.
    @Test(arguments: Fixtures.tokenizerNames)
    func fastPathMatchesPlainTwin(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        for c in try Fixtures.cases(name) {
            #expect(tok.encode(c.text) == tok.encodeReference(c.text), "\(name) \(c.text.debugDescription)")
        }
    }

    @Test func vocabAndMergesFilesMatchTokenizerJSON() throws {
        let files = try Fixtures.tokenizer("gpt2-files")
        for c in try Fixtures.cases("gpt2") {
            #expect(files.encode(c.text) == c.ids, "\(c.text.debugDescription)")
            #expect(files.decode(c.ids) == c.decoded)
        }
    }

    @Test func specialTokenIdsFromConfig() throws {
        let q = try Fixtures.tokenizer("qwen2")
        #expect(q.eosToken == "<|im_end|>")
        #expect(q.eosTokenId == q.tokenToId("<|im_end|>"))
        #expect(q.padTokenId == q.tokenToId("<|endoftext|>"))
        #expect(q.bosTokenId == nil)
        let l = try Fixtures.tokenizer("llama2-sp")
        #expect(l.bosTokenId == 1 && l.eosTokenId == 2 && l.unkTokenId == 0)
        #expect(l.idToToken(3) == "<0x00>")
    }

    @Test func batchesMatchHuggingFace() throws {
        let tok = try Fixtures.tokenizer("added-tokens")
        let j = try Fixtures.json("added-tokens/expected.json")
        for b in j["batches"]?.array ?? [] {
            let texts = (b["texts"]?.array ?? []).compactMap(\.string)
            let side: Padding.Side = b["padding_side"]?.string == "left" ? .left : .right
            let tside: Truncation.Side = b["truncation_side"]?.string == "left" ? .left : .right
            let enc = try tok.encodeBatch(texts, truncation: Truncation(maxLength: b["max_length"]!.int!, side: tside),
                                          padding: Padding(side: side))
            #expect(enc.inputIds == (b["ids"]?.array ?? []).map { Fixtures.ints($0) })
            #expect(enc.attentionMask == (b["attention_mask"]?.array ?? []).map { Fixtures.ints($0) })
        }
        for p in j["pairs"]?.array ?? [] {
            #expect(tok.encode(p["a"]!.string!, pair: p["b"]!.string!) == Fixtures.ints(p["ids"]))
        }
    }

    @Test func paddingWithoutPadTokenIsAnError() throws {
        let tok = try Fixtures.tokenizer("gpt2")
        #expect(throws: TokenizerError.self) { try tok.encodeBatch(["a", "a b c d"]) }
        let ok = try tok.encodeBatch(["a", "a b c d"], padding: Padding(length: .fixed(8), side: .left, padId: 0))
        #expect(ok.inputIds.allSatisfy { $0.count == 8 })
        #expect(ok.attentionMask[0].prefix(7).allSatisfy { $0 == 0 })
    }
}
