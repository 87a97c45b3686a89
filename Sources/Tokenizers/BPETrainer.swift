// `BPETrainer`: learns a GPT-2 style byte-level BPE from texts and writes it as a Hugging
// Face `tokenizer.json` (+ `tokenizer_config.json`) that this package and `tokenizers` load.
// Merges are found with incremental pair counts and a lazily validated max-heap; a plain
// twin recounts every pair per merge. Leaves out normalizers, other pre-tokenizers,
// continuing-subword prefixes / end-of-word suffixes, dropout and chat templates.
import Foundation

/// The files of a trained tokenizer, ready to save in a model directory.
public struct TrainedBPE: Sendable {
    /// `tokenizer.json`: ByteLevel pre-tokenizer (GPT-2 regex), BPE model, ByteLevel
    /// post-processor and decoder, special tokens as added tokens.
    public let tokenizerJSON: Data
    /// `tokenizer_config.json`: bos/eos/pad = `BPETrainer.endOfText`.
    public let configJSON: Data
    /// Number of ids: 256 bytes + learned tokens + special tokens.
    public let vocabSize: Int
    /// Number of merges (can exceed the learned tokens when two merges spell the same bytes).
    public let mergeCount: Int

    /// Writes `tokenizer.json` and `tokenizer_config.json` into `directory` (created if needed).
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try tokenizerJSON.write(to: directory.appendingPathComponent("tokenizer.json"), options: .atomic)
        try configJSON.write(to: directory.appendingPathComponent("tokenizer_config.json"), options: .atomic)
    }
}

/// Byte-level BPE training.
///
/// Ids: 0...255 are the single bytes (id = byte value), then learned tokens in the order
/// they were created, then the special tokens (`endOfText` first, then `specialTokens` in
/// the order given, duplicates dropped). `vocabSize` counts all of them; training stops
/// early when no pair occurs at least `minFrequency` times.
///
/// Training text: each text is cut at occurrences of the special tokens (leftmost-longest,
/// as the added vocabulary cuts at encode time), each remaining segment is split by the
/// GPT-2 regex, and each distinct piece becomes a word weighted by its count.
///
/// Each step merges the adjacent pair with the highest count (a pair is counted once per
/// adjacent position, weighted by word count). **Ties** go to the pair with the smaller left
/// id, then the smaller right id: bytes by value, and older tokens before newer ones. In a
/// word, occurrences are merged left to right without overlap (`a a a` -> `aa a`). A merge
/// whose bytes equal an existing token reuses that token's id (HF does the same).
public enum BPETrainer {
    /// The token added as bos, eos and pad.
    public static let endOfText = "<|endoftext|>"

    /// Trains with incremental pair-count updates (the fast path).
    public static func train(texts: [String], vocabSize: Int, specialTokens: [String] = [],
                             minFrequency: Int = 2) -> TrainedBPE {
        run(texts: texts, vocabSize: vocabSize, specialTokens: specialTokens, minFrequency: minFrequency, reference: false)
    }

    /// The same result by recounting every pair before each merge: the plain twin.
    public static func trainReference(texts: [String], vocabSize: Int, specialTokens: [String] = [],
                                      minFrequency: Int = 2) -> TrainedBPE {
        run(texts: texts, vocabSize: vocabSize, specialTokens: specialTokens, minFrequency: minFrequency, reference: true)
    }

    private static func run(texts: [String], vocabSize: Int, specialTokens: [String], minFrequency: Int,
                            reference: Bool) -> TrainedBPE {
        // 1. Special tokens and the number of tokens to learn.
        var specials: [String] = []
        for s in [endOfText] + specialTokens where !s.isEmpty && !specials.contains(s) { specials.append(s) }
        let target = max(0, vocabSize - 256 - specials.count)
        // 2. Words and their counts.
        var corpus = WordCorpus.count(texts: texts, specials: specials)
        // 3. Merges.
        var tokens = TokenTable()
        let merges = reference
            ? corpus.mergeByRecounting(target: target, minFrequency: max(1, minFrequency), tokens: &tokens)
            : corpus.mergeIncrementally(target: target, minFrequency: max(1, minFrequency), tokens: &tokens)
        // 4. Files.
        let json = Serializer.tokenizerJSON(tokens: tokens, merges: merges, specials: specials)
        let config = Serializer.configJSON(firstSpecialId: tokens.bytes.count, specials: specials)
        return TrainedBPE(tokenizerJSON: json, configJSON: config, vocabSize: tokens.bytes.count + specials.count,
                          mergeCount: merges.count)
    }
}

/// Token id -> bytes, and bytes -> id for reusing ids.
private struct TokenTable {
    var bytes: [[UInt8]] = (0..<256).map { [UInt8($0)] }
    var ids: [[UInt8]: Int32] = Dictionary(uniqueKeysWithValues: (0..<256).map { ([UInt8($0)], Int32($0)) })

    /// Id of the concatenation of `a` and `b`, creating it if new; returns (id, isNew).
    mutating func merged(_ a: Int32, _ b: Int32) -> (Int32, Bool) {
        let joined = bytes[Int(a)] + bytes[Int(b)]
        if let id = ids[joined] { return (id, false) }
        let id = Int32(bytes.count)
        bytes.append(joined)
        ids[joined] = id
        return (id, true)
    }
}

@inline(__always) private func pairKey(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
@inline(__always) private func pairParts(_ k: UInt64) -> (Int32, Int32) {
    (Int32(truncatingIfNeeded: k >> 32), Int32(truncatingIfNeeded: k & 0xFFFF_FFFF))
}

/// Replaces every non-overlapping `a b` (left to right) by `c`; returns false if none.
@inline(__always)
private func mergeWord(_ w: inout [Int32], _ a: Int32, _ b: Int32, _ c: Int32) -> Bool {
    var i = 0, o = 0, changed = false
    let n = w.count
    while i < n {
        if i + 1 < n, w[i] == a, w[i + 1] == b {
            w[o] = c; i += 2; changed = true
        } else {
            w[o] = w[i]; i += 1
        }
        o += 1
    }
    if changed { w.removeLast(n - o) }
    return changed
}

/// The distinct pre-tokens of the corpus as symbol sequences, with their counts.
private struct WordCorpus {
    var words: [[Int32]] = []
    var counts: [Int] = []

    static func count(texts: [String], specials: [String]) -> WordCorpus {
        var corpus = WordCorpus()
        var table = ByteTable(capacity: 1 << 12)
        let matcher = TokenMatcher(specials.enumerated().map { (Array($0.element.utf8), $0.offset) })
        var ranges: [Int] = []
        for text in texts {
            var t = text
            t.withUTF8 { all in
                // Segments between special tokens are pre-tokenized separately.
                var segments: [(Int, Int)] = []
                var pos = 0
                for (s, e, _) in matcher.matches(all) {
                    if s > pos { segments.append((pos, s)) }
                    pos = e
                }
                if pos < all.count { segments.append((pos, all.count)) }
                for (s, e) in segments {
                    let seg = UnsafeBufferPointer(rebasing: all[s..<e])
                    ranges.removeAll(keepingCapacity: true)
                    SplitScanner.gpt2.matches(seg, into: &ranges)
                    var k = 0
                    while k < ranges.count {
                        let piece = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: seg[ranges[k]..<ranges[k + 1]]))
                        if let idx = table.find(piece) {
                            corpus.counts[Int(idx)] += 1
                        } else {
                            table.insert(piece, Int32(corpus.words.count))
                            corpus.words.append(piece.map { Int32($0) })
                            corpus.counts.append(1)
                        }
                        k += 2
                    }
                }
            }
        }
        return corpus
    }

    // MARK: plain twin

    mutating func mergeByRecounting(target: Int, minFrequency: Int, tokens: inout TokenTable) -> [(Int32, Int32)] {
        var merges: [(Int32, Int32)] = []
        var learned = 0
        while learned < target {
            var pairCount: [UInt64: Int] = [:]
            for (w, word) in words.enumerated() where word.count > 1 {
                for i in 0..<(word.count - 1) { pairCount[pairKey(word[i], word[i + 1]), default: 0] += counts[w] }
            }
            var best: (key: UInt64, count: Int)? = nil
            for (k, c) in pairCount where c >= minFrequency {
                if let b = best, c < b.count || (c == b.count && k > b.key) { continue }
                best = (k, c)
            }
            guard let chosen = best else { break }
            let (a, b) = pairParts(chosen.key)
            let (c, isNew) = tokens.merged(a, b)
            if isNew { learned += 1 }
            merges.append((a, b))
            for w in words.indices { _ = mergeWord(&words[w], a, b, c) }
        }
        return merges
    }

    // MARK: fast path

    mutating func mergeIncrementally(target: Int, minFrequency: Int, tokens: inout TokenTable) -> [(Int32, Int32)] {
        // 1. Initial pair counts, and for each pair the words that (may) contain it.
        var pairCount: [UInt64: Int] = [:]
        var wordsWith: [UInt64: [Int32]] = [:]
        for (w, word) in words.enumerated() where word.count > 1 {
            for i in 0..<(word.count - 1) {
                let k = pairKey(word[i], word[i + 1])
                pairCount[k, default: 0] += counts[w]
                if wordsWith[k]?.last != Int32(w) { wordsWith[k, default: []].append(Int32(w)) }
            }
        }
        var heap = PairHeap()
        for (k, c) in pairCount where c >= minFrequency { heap.push(PairHeap.Entry(count: c, key: k)) }

        // 2. Pop the best pair. An entry is stale when its count differs from the pair's
        //    current count: it is pushed again with the current count. Counts of pairs
        //    without the new token only ever fall, and pairs with it are pushed after each
        //    merge, so the first entry that is not stale is the true best pair.
        var merges: [(Int32, Int32)] = []
        var learned = 0
        var touched: [UInt64] = []
        while learned < target, let top = heap.pop() {
            let current = pairCount[top.key] ?? 0
            if current != top.count {
                if current >= minFrequency { heap.push(PairHeap.Entry(count: current, key: top.key)) }
                continue
            }
            let (a, b) = pairParts(top.key)
            let (c, isNew) = tokens.merged(a, b)
            if isNew { learned += 1 }
            merges.append((a, b))

            // 3. In each word holding the pair: take its pairs out, merge, put them back.
            touched.removeAll(keepingCapacity: true)
            for w32 in wordsWith.removeValue(forKey: top.key) ?? [] {
                let w = Int(w32)
                let weight = counts[w]
                var word = words[w]
                guard word.count > 1 else { continue }
                let old = word
                guard mergeWord(&word, a, b, c) else { continue }
                for i in 0..<(old.count - 1) { pairCount[pairKey(old[i], old[i + 1]), default: 0] -= weight }
                if word.count > 1 {
                    for i in 0..<(word.count - 1) {
                        let k = pairKey(word[i], word[i + 1])
                        pairCount[k, default: 0] += weight
                        if word[i] == c || word[i + 1] == c {
                            touched.append(k)
                            if wordsWith[k]?.last != w32 { wordsWith[k, default: []].append(w32) }
                        }
                    }
                }
                words[w] = word
            }
            // 4. Pairs with the new token got counts: push them (duplicates are harmless).
            touched.sort()
            var prev: UInt64? = nil
            for k in touched where k != prev {
                prev = k
                if let n = pairCount[k], n >= minFrequency { heap.push(PairHeap.Entry(count: n, key: k)) }
            }
        }
        return merges
    }
}

/// Binary max-heap of (count, pair): higher count first, then the smaller pair key.
private struct PairHeap {
    struct Entry {
        var count: Int
        var key: UInt64
        @inline(__always) func before(_ o: Entry) -> Bool { count > o.count || (count == o.count && key < o.key) }
    }
    private var items: [Entry] = []

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard items[i].before(items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n, items[l].before(items[m]) { m = l }
            if r < n, items[r].before(items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return first
    }
}

/// Writes the two JSON files, laid out like `tokenizers`' pretty output but one vocab entry
/// and one merge per line, so diffs stay readable.
private enum Serializer {
    static func tokenString(_ bytes: [UInt8]) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(ByteLevelAlphabet.scalarForByte[Int(b)])!) }
        return String(s)
    }

    static func q(_ s: String) -> String { JSONValue.quote(s, asciiOnly: false) }

    static func tokenizerJSON(tokens: TokenTable, merges: [(Int32, Int32)], specials: [String]) -> Data {
        let names = tokens.bytes.map(tokenString)
        let first = names.count
        var o = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        for (k, s) in specials.enumerated() {
            o += k == 0 ? "\n" : ",\n"
            o += "    {\"id\": \(first + k), \"content\": \(q(s)), \"single_word\": false, \"lstrip\": false, "
            o += "\"rstrip\": false, \"normalized\": false, \"special\": true}"
        }
        o += "\n  ],\n  \"normalizer\": null,\n"
        o += "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n"
        o += "  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, \"use_regex\": true},\n"
        o += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n"
        o += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
        o += "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n"
        o += "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n    \"vocab\": {"
        for (id, name) in names.enumerated() { o += (id == 0 ? "\n" : ",\n") + "      \(q(name)): \(id)" }
        // Special tokens join the model vocab too (as in GPT-2), unless one spells the same
        // string as a byte-level token: then it lives only in added_tokens.
        let taken = Set(names)
        for (k, s) in specials.enumerated() where !taken.contains(s) { o += ",\n      \(q(s)): \(first + k)" }
        o += "\n    },\n    \"merges\": ["
        for (k, (a, b)) in merges.enumerated() {
            o += (k == 0 ? "\n" : ",\n") + "      [\(q(names[Int(a)])), \(q(names[Int(b)]))]"
        }
        o += merges.isEmpty ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n"
        return Data(o.utf8)
    }

    static func configJSON(firstSpecialId: Int, specials: [String]) -> Data {
        var o = "{\n  \"added_tokens_decoder\": {"
        for (k, s) in specials.enumerated() {
            o += (k == 0 ? "\n" : ",\n") + "    \"\(firstSpecialId + k)\": {\"content\": \(q(s)), \"lstrip\": false, "
            o += "\"normalized\": false, \"rstrip\": false, \"single_word\": false, \"special\": true}"
        }
        let eot = q(BPETrainer.endOfText)
        o += "\n  },\n  \"bos_token\": \(eot),\n  \"eos_token\": \(eot),\n  \"pad_token\": \(eot),\n"
        o += "  \"clean_up_tokenization_spaces\": false,\n  \"tokenizer_class\": \"PreTrainedTokenizerFast\"\n}\n"
        return Data(o.utf8)
    }
}
