// An open-addressing hash map from byte strings to Int32, with keys packed in one arena.
// Why not Dictionary<String, Int>: String equality is canonical (NFC) equivalence, which
// would merge vocab entries HF keeps apart, and lookups would allocate. Leaves out removal.

struct ByteTable {
    private var arena: [UInt8] = []
    /// Per slot: key start in arena (-1 = empty), key length, value.
    private var starts: [Int32]
    private var lengths: [Int32]
    private var values: [Int32]
    private var hashes: [UInt32]
    private(set) var count = 0
    private var mask: Int

    init(capacity: Int = 16) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        starts = Array(repeating: -1, count: n)
        lengths = Array(repeating: 0, count: n)
        values = Array(repeating: 0, count: n)
        hashes = Array(repeating: 0, count: n)
        mask = n - 1
    }

    @inline(__always)
    static func hash(_ p: UnsafeRawBufferPointer) -> UInt32 {
        // FNV-1a, 8 bytes at a time mixed with a multiply: keys are short (words, tokens).
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(p.count)
        var i = 0
        let n = p.count
        while i + 8 <= n {
            h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01b3
            h ^= h >> 29
            i += 8
        }
        while i < n {
            h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3
            i += 1
        }
        h ^= h >> 32
        return UInt32(truncatingIfNeeded: h)
    }

    func find(_ key: UnsafeRawBufferPointer) -> Int32? {
        let h = ByteTable.hash(key)
        var slot = Int(h) & mask
        return arena.withUnsafeBytes { a in
            while true {
                let s = starts[slot]
                if s < 0 { return nil }
                if hashes[slot] == h, Int(lengths[slot]) == key.count,
                   key.count == 0 || memcmpBytes(a.baseAddress! + Int(s), key.baseAddress!, key.count) {
                    return values[slot]
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func find(_ key: [UInt8]) -> Int32? { key.withUnsafeBytes { find($0) } }
    func find(_ key: String) -> Int32? {
        var k = key
        return k.withUTF8 { find(UnsafeRawBufferPointer($0)) }
    }

    /// Inserts or overwrites.
    mutating func insert(_ key: UnsafeRawBufferPointer, _ value: Int32) {
        if (count + 1) * 2 > mask + 1 { grow() }
        let h = ByteTable.hash(key)
        var slot = Int(h) & mask
        while true {
            let s = starts[slot]
            if s < 0 { break }
            if hashes[slot] == h, Int(lengths[slot]) == key.count,
               arena.withUnsafeBytes({ a in key.count == 0 || memcmpBytes(a.baseAddress! + Int(s), key.baseAddress!, key.count) }) {
                values[slot] = value
                return
            }
            slot = (slot + 1) & mask
        }
        starts[slot] = Int32(arena.count)
        lengths[slot] = Int32(key.count)
        values[slot] = value
        hashes[slot] = h
        arena.append(contentsOf: key)
        count += 1
    }
    mutating func insert(_ key: [UInt8], _ value: Int32) { key.withUnsafeBytes { insert($0, value) } }
    mutating func insert(_ key: String, _ value: Int32) { insert(Array(key.utf8), value) }

    mutating func removeAll() {
        self = ByteTable(capacity: 16)
    }

    private mutating func grow() {
        let oldStarts = starts, oldLengths = lengths, oldValues = values, oldHashes = hashes
        let n = (mask + 1) * 2
        starts = Array(repeating: -1, count: n)
        lengths = Array(repeating: 0, count: n)
        values = Array(repeating: 0, count: n)
        hashes = Array(repeating: 0, count: n)
        mask = n - 1
        for k in 0..<oldStarts.count where oldStarts[k] >= 0 {
            var slot = Int(oldHashes[k]) & mask
            while starts[slot] >= 0 { slot = (slot + 1) & mask }
            starts[slot] = oldStarts[k]
            lengths[slot] = oldLengths[k]
            values[slot] = oldValues[k]
            hashes[slot] = oldHashes[k]
        }
    }
}

@inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}
