// The BPE model: splits one pre-token into vocabulary ids by applying merges in rank
// order, exactly as Hugging Face's `BPE` does (heap of candidate merges, stale entries
// skipped; byte_fallback, unk/fuse_unk, ignore_merges, subword prefix/suffix). A word cache
// makes repeated words one hash lookup. Leaves out dropout (refused at load) and training.
import Foundation

final class BPEModel: @unchecked Sendable {
    /// Token bytes -> id.
    let vocab: ByteTable
    /// Id -> token text (nil for ids the model does not define).
    let idToToken: [String?]
    /// (left id << 32 | right id) -> (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    let unkId: Int32?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let prefix: [UInt8]?
    let suffix: [UInt8]?
    /// Ids of `<0x00>`...`<0xFF>` (-1 where missing), for byte_fallback.
    let byteIds: [Int32]

    private let lock = NSLock()
    private var cache = ByteTable(capacity: 1 << 14)
    private var cacheIds: [Int32] = []
    private static let cacheLimit = 1 << 22

    init(vocab vocabPairs: [(String, Int)], merges mergePairs: [(String, String)], unkToken: String?,
         fuseUnk: Bool, byteFallback: Bool, ignoreMerges: Bool, prefix: String?, suffix: String?) throws {
        var table = ByteTable(capacity: vocabPairs.count)
        // Ids are checked before the id -> token table is sized by the largest one.
        var maxId = -1
        for (tok, id) in vocabPairs { maxId = max(maxId, Int(try Tokenizer.checkedId(id, "model.vocab entry '\(tok)'"))) }
        // The table holds maxId + 1 slots: bound it by the entries the file actually holds, so a
        // single huge id in a small file cannot ask for gigabytes (real vocabularies are dense).
        let slots = 4 * vocabPairs.count + 1024
        guard maxId < slots else {
            throw TokenizerError.invalidConfig("model.vocab: id \(maxId) among only \(vocabPairs.count) entries; "
                + "expected ids below \(slots) (4 x the entries + 1024; vocabularies are numbered densely from 0)")
        }
        var rev = [String?](repeating: nil, count: maxId + 1)
        for (tok, id) in vocabPairs {
            table.insert(tok, Int32(id))
            rev[id] = tok
        }
        var m: [UInt64: UInt64] = [:]
        m.reserveCapacity(mergePairs.count)
        for (rank, (a, b)) in mergePairs.enumerated() {
            guard let ia = table.find(a) else { throw TokenizerError.missingVocabEntry("merge \(rank) left part '\(a)'") }
            guard let ib = table.find(b) else { throw TokenizerError.missingVocabEntry("merge \(rank) right part '\(b)'") }
            // HF drops the prefix's byte length from `b` unconditionally (bytes, not
            // Characters: a combining mark after "##" would fuse into one Character).
            var joinedBytes = Array(a.utf8)
            joinedBytes += Array(b.utf8).dropFirst(prefix?.utf8.count ?? 0)
            let joined = String(decoding: joinedBytes, as: UTF8.self)
            guard let inew = table.find(joinedBytes) else { throw TokenizerError.missingVocabEntry("merge \(rank) result '\(joined)'") }
            m[UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib))] = UInt64(rank) << 32 | UInt64(UInt32(inew))
        }
        if let u = unkToken {
            guard let id = table.find(u) else { throw TokenizerError.missingVocabEntry("unk_token '\(u)'") }
            unkId = id
        } else {
            unkId = nil
        }
        byteIds = (0..<256).map { b in table.find("<0x" + String(format: "%02X", b) + ">") ?? -1 }
        vocab = table
        idToToken = rev
        merges = m
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.prefix = prefix.map { Array($0.utf8) }
        self.suffix = suffix.map { Array($0.utf8) }
    }

    static func parse(_ j: JSONValue) throws -> BPEModel {
        if let d = j["dropout"], !d.isNull, (d.int.map { $0 != 0 } ?? true), !(d == .double(0)) {
            throw TokenizerError.unsupported(component: "BPE option", type: "dropout \(d.serialized)")
        }
        guard let v = j["vocab"]?.objectPairs else { throw TokenizerError.invalidConfig("BPE model without vocab object") }
        var vocab: [(String, Int)] = []
        vocab.reserveCapacity(v.count)
        for (k, idv) in v {
            guard let id = idv.int else { throw TokenizerError.invalidConfig("vocab entry '\(k)' has a non-integer id") }
            vocab.append((k, id))
        }
        guard let mj = j["merges"]?.array else { throw TokenizerError.invalidConfig("BPE model without merges array") }
        var merges: [(String, String)] = []
        merges.reserveCapacity(mj.count)
        for (rank, item) in mj.enumerated() {
            merges.append(try parseMerge(item, rank: rank))
        }
        func optString(_ key: String) -> String? { j[key]?.string }
        return try BPEModel(vocab: vocab, merges: merges, unkToken: optString("unk_token"),
                            fuseUnk: j["fuse_unk"]?.bool ?? false, byteFallback: j["byte_fallback"]?.bool ?? false,
                            ignoreMerges: j["ignore_merges"]?.bool ?? false,
                            prefix: optString("continuing_subword_prefix"), suffix: optString("end_of_word_suffix"))
    }

    /// A merge is either `"a b"` (legacy) or `["a", "b"]`.
    static func parseMerge(_ item: JSONValue, rank: Int) throws -> (String, String) {
        if let s = item.string {
            let parts = s.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw TokenizerError.invalidConfig("merge \(rank) '\(s)' is not two space-separated tokens") }
            return (String(parts[0]), String(parts[1]))
        }
        if let a = item.array, a.count == 2, let l = a[0].string, let r = a[1].string { return (l, r) }
        throw TokenizerError.invalidConfig("merge \(rank) is neither \"a b\" nor [\"a\", \"b\"]")
    }

    // MARK: encoding

    /// Appends the ids of one pre-token to `out`, using and filling the word cache.
    func encode(_ word: UnsafeBufferPointer<UInt8>, into out: inout [Int32], useCache: Bool) {
        if word.isEmpty { return }
        if ignoreMerges, let id = vocab.find(UnsafeRawBufferPointer(word)) { out.append(id); return }
        if useCache, let off = cache.find(UnsafeRawBufferPointer(word)) {
            let o = Int(off)
            let n = Int(cacheIds[o])
            out.append(contentsOf: cacheIds[(o + 1)..<(o + 1 + n)])
            return
        }
        let start = out.count
        mergeWord(word, into: &out, reference: false)
        if useCache {
            if cacheIds.count > BPEModel.cacheLimit { cache.removeAll(); cacheIds.removeAll(keepingCapacity: true) }
            cache.insert(UnsafeRawBufferPointer(word), Int32(cacheIds.count))
            cacheIds.append(Int32(out.count - start))
            cacheIds.append(contentsOf: out[start...])
        }
    }

    /// Runs `body` holding the cache if no other thread has it; otherwise without a cache.
    func withCache<R>(_ body: (Bool) -> R) -> R {
        if lock.try() {
            defer { lock.unlock() }
            return body(true)
        }
        return body(false)
    }

    struct Symbol {
        var id: Int32
        var prev: Int32
        var next: Int32
        var len: Int32
    }

    /// Initial symbols of a word: one per character (with prefix/suffix), byte fallback or unk.
    func initialSymbols(_ w: UnsafeBufferPointer<UInt8>) -> [Symbol] {
        var syms: [Symbol] = []
        syms.reserveCapacity(w.count)
        func add(_ id: Int32, _ len: Int) {
            let n = Int32(syms.count)
            syms.append(Symbol(id: id, prev: n - 1, next: n + 1, len: Int32(len)))
        }
        var unk: (Int32, Int)? = nil
        var key: [UInt8] = []
        var i = 0
        while i < w.count {
            let c0 = w[i]
            let clen = c0 < 0x80 ? 1 : c0 < 0xE0 ? 2 : c0 < 0xF0 ? 3 : 4
            let end = min(i + clen, w.count)
            let first = i == 0, last = end == w.count
            var id: Int32?
            if (prefix == nil || first) && (suffix == nil || !last) {
                id = vocab.find(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: w[i..<end])))
            } else {
                key.removeAll(keepingCapacity: true)
                if !first, let p = prefix { key.append(contentsOf: p) }
                key.append(contentsOf: w[i..<end])
                if last, let s = suffix { key.append(contentsOf: s) }
                id = vocab.find(key)
            }
            if let id {
                if let u = unk { add(u.0, u.1); unk = nil }
                add(id, end - i)
            } else {
                var handled = false
                if byteFallback {
                    // The bytes of the decorated character, as HF formats them.
                    var bytes: [UInt8] = []
                    if !first, let p = prefix { bytes.append(contentsOf: p) }
                    bytes.append(contentsOf: w[i..<end])
                    if last, let s = suffix { bytes.append(contentsOf: s) }
                    if bytes.allSatisfy({ byteIds[Int($0)] >= 0 }) {
                        for b in bytes { add(byteIds[Int(b)], 1) }
                        handled = true
                    }
                }
                if !handled, let u = unkId {
                    if let pending = unk {
                        if fuseUnk { unk = (pending.0, pending.1 + end - i) } else { add(pending.0, pending.1); unk = (u, end - i) }
                    } else {
                        unk = (u, end - i)
                    }
                }
                // No unk token and no fallback: HF drops the character silently; so do we.
            }
            i = end
        }
        if let u = unk { add(u.0, u.1) }
        if !syms.isEmpty { syms[syms.count - 1].next = -1 }
        return syms
    }

    @inline(__always)
    func lookupMerge(_ a: Int32, _ b: Int32) -> UInt64? {
        merges[UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))]
    }

    /// Applies all merges to one word and appends the resulting ids. `reference` selects the
    /// plain twin: rescan for the lowest (rank, position) pair after every merge.
    func mergeWord(_ w: UnsafeBufferPointer<UInt8>, into out: inout [Int32], reference: Bool) {
        var s = initialSymbols(w)
        if s.count > 1 {
            if reference { mergeByScan(&s) } else { mergeByHeap(&s) }
        }
        for sym in s where sym.len > 0 { out.append(sym.id) }
    }

    /// HF's `Word::merge_all`: a min-heap of (rank, position), stale entries skipped when the
    /// pair at that position no longer produces the same id.
    private func mergeByHeap(_ s: inout [Symbol]) {
        var heap = MinHeap()
        for i in 0..<(s.count - 1) {
            if let m = lookupMerge(s[i].id, s[i + 1].id) { heap.push((m & 0xFFFF_FFFF_0000_0000) | UInt64(i), newId: Int32(truncatingIfNeeded: m)) }
        }
        while let (key, newId) = heap.pop() {
            let pos = Int(key & 0xFFFF_FFFF)
            if s[pos].len == 0 || s[pos].next == -1 { continue }
            let nextPos = Int(s[pos].next)
            let right = s[nextPos]
            guard let m = lookupMerge(s[pos].id, right.id), Int32(truncatingIfNeeded: m) == newId else { continue }
            s[pos].id = newId
            s[pos].len += right.len
            s[pos].next = right.next
            s[nextPos].len = 0
            if right.next >= 0 { s[Int(right.next)].prev = Int32(pos) }
            if s[pos].prev >= 0 {
                let p = Int(s[pos].prev)
                if let m2 = lookupMerge(s[p].id, s[pos].id) { heap.push((m2 & 0xFFFF_FFFF_0000_0000) | UInt64(p), newId: Int32(truncatingIfNeeded: m2)) }
            }
            if s[pos].next >= 0 {
                let nx = Int(s[pos].next)
                if let m2 = lookupMerge(s[pos].id, s[nx].id) { heap.push((m2 & 0xFFFF_FFFF_0000_0000) | UInt64(pos), newId: Int32(truncatingIfNeeded: m2)) }
            }
        }
    }

    /// The plain twin: O(n^2), obviously "lowest rank first, leftmost on ties".
    private func mergeByScan(_ s: inout [Symbol]) {
        var live = s.filter { $0.len > 0 }
        while live.count > 1 {
            var best: (rank: UInt64, pos: Int, id: Int32)? = nil
            for i in 0..<(live.count - 1) {
                if let m = lookupMerge(live[i].id, live[i + 1].id), best == nil || m >> 32 < best!.rank {
                    best = (m >> 32, i, Int32(truncatingIfNeeded: m))
                }
            }
            guard let b = best else { break }
            live[b.pos].id = b.id
            live[b.pos].len += live[b.pos + 1].len
            live.remove(at: b.pos + 1)
        }
        s = live
    }
}

/// Binary min-heap of (key, payload) ordered by key; key = rank << 32 | position.
struct MinHeap {
    private var keys: [UInt64] = []
    private var ids: [Int32] = []

    mutating func push(_ key: UInt64, newId: Int32) {
        keys.append(key); ids.append(newId)
        var i = keys.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if keys[p] <= keys[i] { break }
            keys.swapAt(p, i); ids.swapAt(p, i)
            i = p
        }
    }

    mutating func pop() -> (UInt64, Int32)? {
        guard let top = keys.first else { return nil }
        let topId = ids[0]
        let lastK = keys.removeLast(), lastI = ids.removeLast()
        if !keys.isEmpty {
            keys[0] = lastK; ids[0] = lastI
            var i = 0
            let n = keys.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && keys[l] < keys[m] { m = l }
                if r < n && keys[r] < keys[m] { m = r }
                if m == i { break }
                keys.swapAt(m, i); ids.swapAt(m, i)
                i = m
            }
        }
        return (top, topId)
    }
}
