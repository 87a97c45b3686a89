// BPETrainer: the files it writes load here and in Hugging Face `tokenizers` with identical
// ids (fixture from Reference/check_bpe_trainer.py), text round-trips, output is
// deterministic, ties follow the documented rule, and the fast path equals its plain twin.
// Leaves out timing (measured by hand: see the commit message).
import Foundation
import Testing
import Tokenizers

@Suite struct BPETrainerTests {
    static let corpus: [String] = {
        var texts = [
            "The gorgeously elaborate continuation of the trilogy is so huge that words cannot describe it.",
            "Effective but too tepid biopic.",
            "If you sometimes like to go to the movies to have fun, this is a splendid choice.",
            "It's a cheap cliché; the plot is nothing but boilerplate, and it isn't funny.",
            "Café naïve résumé — «quotes» 😀👍🏽 Привет 你好 1234567 ½",
            "def f(x):\n    return x * 2\r\n\ttabs  and   spaces   ",
        ]
        for k in 0..<40 { texts.append("movie \(k) was good, really good; the film number \(k * 7) was bad.") }
        return texts
    }()

    static func merges(_ t: TrainedBPE) throws -> [[String]] {
        let j = try JSONValue.parse(t.tokenizerJSON)
        return (j["model"]?["merges"]?.array ?? []).map { ($0.array ?? []).compactMap(\.string) }
    }

    @Test func loadsAndRoundTrips() throws {
        let trained = BPETrainer.train(texts: Self.corpus, vocabSize: 400, specialTokens: ["<|pad|>"])
        let tok = try Tokenizer(tokenizerJSON: trained.tokenizerJSON, configJSON: trained.configJSON)
        #expect(tok.vocabSize == trained.vocabSize)
        #expect(trained.vocabSize <= 400)
        let eot = try #require(tok.tokenToId(BPETrainer.endOfText))
        #expect(eot == trained.vocabSize - 2)
        #expect(tok.tokenToId("<|pad|>") == trained.vocabSize - 1)
        #expect(tok.bosTokenId == eot && tok.eosTokenId == eot && tok.padTokenId == eot)
        // Byte tokens first: id = byte value.
        #expect(tok.encode("a") == [97])
        #expect(tok.encode("\n") == [10])
        for text in Self.corpus + ["", " ", "unseen: xylophone ZEPHYR 🦄 ﷽", "  two  spaces  ", "tab\there"] {
            let ids = tok.encode(text)
            #expect(tok.decode(ids) == text, "round trip \(text.debugDescription)")
            #expect(ids == tok.encodeReference(text))
        }
        // Learned merges compress the training text.
        let text = Self.corpus[Self.corpus.count - 1]
        #expect(tok.encode(text).count < text.utf8.count / 2)
        // Special tokens in text become their ids.
        #expect(tok.encode("good<|endoftext|>bad").contains(eot))
        #expect(tok.decode(tok.encode("good<|endoftext|>bad"), skipSpecialTokens: true) == "goodbad")
    }

    @Test func deterministic() throws {
        let a = BPETrainer.train(texts: Self.corpus, vocabSize: 350)
        let b = BPETrainer.train(texts: Self.corpus, vocabSize: 350)
        #expect(a.tokenizerJSON == b.tokenizerJSON)
        #expect(a.configJSON == b.configJSON)
    }

    /// The incremental pair counts choose exactly the merges a full recount chooses.
    @Test(arguments: [1, 2, 3])
    func fastPathEqualsPlainTwin(minFrequency: Int) throws {
        let fast = BPETrainer.train(texts: Self.corpus, vocabSize: 600, minFrequency: minFrequency)
        let plain = BPETrainer.trainReference(texts: Self.corpus, vocabSize: 600, minFrequency: minFrequency)
        let fm = try Self.merges(fast), pm = try Self.merges(plain)
        let firstDiff = zip(fm, pm).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(fm.count == pm.count && firstDiff == nil,
                "counts \(fm.count) vs \(pm.count); first difference at \(firstDiff.map { "\($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "-")")
        #expect(fast.tokenizerJSON == plain.tokenizerJSON)
    }

    /// "abab" and "cdcd" each hold their pair twice: a tie broken by the smaller left id
    /// ('a' = 97 before 'c' = 99); then (ab, ab) and (cd, cd) occur once, below minFrequency 2.
    @Test func tiesGoToTheSmallerPair() throws {
        let t = BPETrainer.train(texts: ["cdcd", "abab"], vocabSize: 1000)
        #expect(try Self.merges(t) == [["a", "b"], ["c", "d"]])
        #expect(t.vocabSize == 256 + 2 + 1)
        let once = BPETrainer.train(texts: ["cdcd", "abab"], vocabSize: 1000, minFrequency: 1)
        #expect(try Self.merges(once) == [["a", "b"], ["c", "d"], ["ab", "ab"], ["cd", "cd"]])
    }

    /// Overlapping occurrences merge left to right: "aaa" -> "aa a", so (a, a) counted twice
    /// is merged once per word, and vocabSize caps the learned tokens.
    @Test func overlapAndCap() throws {
        let t = BPETrainer.train(texts: ["aaa", "aaa"], vocabSize: 256 + 1 + 1)
        #expect(try Self.merges(t) == [["a", "a"]])
        let tok = try Tokenizer(tokenizerJSON: t.tokenizerJSON, configJSON: t.configJSON)
        #expect(tok.encode("aaa") == [256, 97])
        let tiny = BPETrainer.train(texts: Self.corpus, vocabSize: 10)
        #expect(try Self.merges(tiny).isEmpty)
        #expect(tiny.vocabSize == 257)
    }

    /// Special tokens are cut out of the training text, so no merge spans or spells them.
    @Test func specialTokensAreNotLearned() throws {
        let t = BPETrainer.train(texts: Array(repeating: "hello<|endoftext|>world<|endoftext|>", count: 50), vocabSize: 300)
        let m = try Self.merges(t)
        #expect(!m.isEmpty)
        #expect(!m.joined().contains { $0.contains("|") || $0.contains("<") })
    }

    // MARK: Hugging Face fixture

    static let fixtureDir = Fixtures.root.appendingPathComponent("swift-trained")

    static func fixtureTraining() throws -> TrainedBPE {
        let lines = try String(contentsOf: fixtureDir.appendingPathComponent("train.txt"), encoding: .utf8)
            .split(separator: "\n").map { try JSONValue.parse(String($0)).string ?? "" }
        return BPETrainer.train(texts: lines, vocabSize: 400)
    }

    /// Retraining on train.txt reproduces the committed files byte for byte; with
    /// BPE_TRAINER_WRITE_FIXTURE=1 it writes them instead (Reference/check_bpe_trainer.py).
    @Test func fixtureFilesAreWhatTheTrainerWrites() throws {
        let trained = try Self.fixtureTraining()
        if ProcessInfo.processInfo.environment["BPE_TRAINER_WRITE_FIXTURE"] == "1" {
            try trained.write(to: Self.fixtureDir)
            return
        }
        #expect(try Data(contentsOf: Self.fixtureDir.appendingPathComponent("tokenizer.json")) == trained.tokenizerJSON)
        #expect(try Data(contentsOf: Self.fixtureDir.appendingPathComponent("tokenizer_config.json")) == trained.configJSON)
    }

    @Test func idsMatchHuggingFace() throws {
        let tok = try Fixtures.tokenizer("swift-trained")
        let cases = try Fixtures.cases("swift-trained")
        #expect(cases.count >= 20)
        for c in cases {
            let got = tok.encode(c.text)
            #expect(got == c.ids, "\(c.text.debugDescription): \(firstDifference(got, c.ids))")
            #expect(tok.decode(c.ids) == c.decoded)
            #expect(tok.decode(c.ids, skipSpecialTokens: true) == c.decodedSkip)
        }
    }
}
