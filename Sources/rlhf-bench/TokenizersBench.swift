// `rlhf-bench tokenizers`: single-thread encode throughput (MB/s) of the Tokenizers target
// on ~1 MB of English-like and ~1 MB of mixed-script text, with the plain twin (no cache,
// O(n^2) merges) as the in-run reference. Text is synthesised (seeded), never downloaded.
// Leaves out HF's own speed (PERF-NOTES: 2.4 MB/s GPT-2 `encode`, measured separately).
import ArgumentParser
import Foundation
import Tokenizers

struct TokenizersBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizers", abstract: "Encode MB/s for GPT-2 style and Qwen2 style BPE on English and mixed-script text.")

    @Option(help: "A GPT-2 style tokenizer directory (default: the test fixture, a 600-token vocab).")
    var gpt2: String?

    @Option(help: "A Qwen2 style tokenizer directory (default: the test fixture).")
    var qwen2: String?

    @Option(help: "Approximate text size in bytes.")
    var bytes = 1_000_000

    @Option(help: "Timed repetitions (median is printed).")
    var runs = 5

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Tests/TokenizersTests/Fixtures").standardizedFileURL

    func run() throws {
        let english = Self.englishText(bytes: bytes)
        let mixed = Self.mixedText(bytes: bytes)
        tbFigure("text_english_size", Double(english.utf8.count) / 1e6, "MB")
        tbFigure("text_mixed_size", Double(mixed.utf8.count) / 1e6, "MB")
        for (name, path) in [("gpt2", gpt2), ("qwen2", qwen2)] {
            let dir = path.map { URL(fileURLWithPath: $0) } ?? Self.fixtures.appendingPathComponent(name)
            let tok = try Tokenizer(directory: dir)
            tbFigure("\(name)_vocab_size", Double(tok.vocabSize), "tokens")
            for (label, text) in [("english", english), ("mixed", mixed)] {
                var count = 0
                // A fresh tokenizer per run would hide the word cache; HF keeps one too.
                let t = tbMedian(runs) { count = tok.encode(text, addSpecialTokens: false).count }
                tbFigure("encode_\(name)_\(label)", Double(text.utf8.count) / 1e6 / t, "MB/s")
                tbFigure("encode_\(name)_\(label)_tokens", Double(count), "tokens")
            }
            // The plain twin on a 100 KB slice: the ratio shows what the cache and heap buy.
            let slice = String(english.prefix(100_000))
            let tRef = tbMedian(1) { _ = tok.encodeReference(slice, addSpecialTokens: false) }
            let tFast = tbMedian(3) { _ = tok.encode(slice, addSpecialTokens: false) }
            tbFigure("encode_\(name)_english_plain_twin", Double(slice.utf8.count) / 1e6 / tRef, "MB/s")
            tbFigure("encode_\(name)_english_speedup_vs_plain_twin", tRef / tFast, "x")
        }
        let tok = try Tokenizer(directory: gpt2.map { URL(fileURLWithPath: $0) } ?? Self.fixtures.appendingPathComponent("gpt2"))
        let ids = tok.encode(english, addSpecialTokens: false)
        let t = tbMedian(runs) { _ = tok.decode(ids) }
        tbFigure("decode_gpt2_english", Double(english.utf8.count) / 1e6 / t, "MB/s")
    }

    /// Deterministic xorshift so the text is the same every run.
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// English-like prose: ~20k pseudo-words drawn Zipf-like, capitals, digits, punctuation.
    static func englishText(bytes: Int) -> String {
        var rng = Rng(s: 0x9E37_79B9_7F4A_7C15)
        let common = ["the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
                      "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had",
                      "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if",
                      "more", "when", "will", "would", "who", "so", "no", "model", "reward", "policy", "training"]
        let syll = ["ka", "lo", "re", "tion", "mi", "ster", "pa", "ble", "con", "di", "ment", "ver", "in", "al", "ous",
                    "ri", "ly", "ex", "pro", "com", "ing", "ed", "er", "an", "or", "es", "ti", "ca", "de", "ple"]
        var vocab = common
        while vocab.count < 20_000 {
            var w = ""
            for _ in 0..<(1 + rng.below(4)) { w += syll[rng.below(syll.count)] }
            vocab.append(w)
        }
        var out = ""
        out.reserveCapacity(bytes + 100)
        var sentenceStart = true
        while out.utf8.count < bytes {
            // Zipf-ish: index ~ n^2 scaling favours the head.
            let r = Double(rng.below(1_000_000)) / 1_000_000
            var w = vocab[min(vocab.count - 1, Int(r * r * r * Double(vocab.count)))]
            if rng.below(40) == 0 { w = String(rng.below(10_000)) }
            if sentenceStart { w = w.prefix(1).uppercased() + w.dropFirst(); sentenceStart = false }
            out += w
            switch rng.below(20) {
            case 0: out += ". "; sentenceStart = true
            case 1: out += ", "
            case 2: out += "'s "
            case 3 where rng.below(4) == 0: out += ".\n\n"; sentenceStart = true
            default: out += " "
            }
        }
        return out
    }

    /// Mixed scripts: English, French, Russian, Chinese, Japanese, Arabic, Hindi, emoji, code.
    static func mixedText(bytes: Int) -> String {
        var rng = Rng(s: 0xD1B5_4A32_D192_ED03)
        let samples = [
            "Reinforcement learning from human feedback aligns language models. ",
            "Le modèle apprend à partir des préférences humaines, très efficacement. ",
            "Языковая модель учится на человеческих предпочтениях и отзывах. ",
            "语言模型从人类偏好中学习，强化学习需要奖励模型。", "日本語のテキスト、カタカナとひらがなを混ぜる。",
            "مرحبا بالعالم، النموذج يتعلم من التفضيلات. ", "नमस्ते दुनिया, मॉडल मानव प्रतिक्रिया से सीखता है। ",
            "Emoji 😀👍🏽🚀✨ and flags 🇫🇷🇯🇵. ", "def f(x):\n    return x * 2  # double\n", "for (i = 0; i < n; ++i) { s += a[i]; }\n",
            "Numbers 3.14159, 2024-06-30, 1,234,567. ", "Ελληνικά κείμενα και ΚΕΦΑΛΑΙΑ. ", "한국어 텍스트입니다. ",
        ]
        var out = ""
        out.reserveCapacity(bytes + 200)
        while out.utf8.count < bytes { out += samples[rng.below(samples.count)] }
        return out
    }
}

private func tbFigure(_ name: String, _ value: Double, _ unit: String) {
    let digits = abs(value) >= 100 ? 1 : abs(value) >= 1 ? 2 : 3
    print("\(name): \(String(format: "%.\(digits)f", value)) \(unit)")
}

private func tbMedian(_ runs: Int, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<max(1, runs) {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
    times.sort()
    return times[times.count / 2]
}
