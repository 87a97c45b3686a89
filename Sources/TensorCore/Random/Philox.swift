// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
// a counter-based generator, so a stream is fully described by (seed, stream, counter)
// and can be saved, restored or split without sharing state. Used for init, dropout and
// sampling. Leaves out: the bit-exact stream of torch.Generator (not a goal).
import Foundation

public struct Philox: RandomNumberGenerator, Codable, Sendable, Equatable {
    public let seed: UInt64
    /// Independent sub-stream id: the same seed with different streams never overlaps.
    public let stream: UInt64
    /// Number of 128-bit blocks consumed.
    public private(set) var counter: UInt64
    private var buffer: [UInt32] = []

    public init(seed: UInt64, stream: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
        self.counter = 0
    }

    /// A generator for sub-stream `id` of this one's seed (e.g. one per layer or per row).
    public func split(_ id: UInt64) -> Philox {
        Philox(seed: seed, stream: stream &* 0x9E37_79B9_7F4A_7C15 &+ id &+ 1)
    }

    /// The 4x32-bit output block for a given counter value.
    public static func block(seed: UInt64, stream: UInt64, counter: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: counter), c1 = UInt32(truncatingIfNeeded: counter >> 32)
        var c2 = UInt32(truncatingIfNeeded: stream), c3 = UInt32(truncatingIfNeeded: stream >> 32)
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0), p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n1 = UInt32(truncatingIfNeeded: p1)
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            let n3 = UInt32(truncatingIfNeeded: p0)
            (c0, c1, c2, c3) = (n0, n1, n2, n3)
            k0 = k0 &+ 0x9E37_79B9; k1 = k1 &+ 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// The next whole 128-bit block (skips any partially used block).
    public mutating func nextBlock() -> (UInt32, UInt32, UInt32, UInt32) {
        buffer.removeAll()
        let b = Philox.block(seed: seed, stream: stream, counter: counter)
        counter &+= 1
        return b
    }

    public mutating func nextUInt32() -> UInt32 {
        if buffer.isEmpty {
            let (a, b, c, d) = Philox.block(seed: seed, stream: stream, counter: counter)
            counter &+= 1
            buffer = [d, c, b, a]
        }
        return buffer.removeLast()
    }

    public mutating func next() -> UInt64 {
        UInt64(nextUInt32()) << 32 | UInt64(nextUInt32())
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func uniform() -> Float {
        Float(nextUInt32() >> 8) * (1.0 / 16_777_216.0)
    }

    /// Standard normal via Box-Muller (one value per call; the pair's second half is dropped
    /// so the state stays a plain counter).
    public mutating func normal() -> Float {
        let u1 = Double(nextUInt32() >> 8 + 1) / 16_777_217.0   // (0, 1]: log stays finite
        let u2 = Double(nextUInt32() >> 8) / 16_777_216.0
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    enum CodingKeys: String, CodingKey { case seed, stream, counter, buffer }
}

extension Tensor {
    /// Normal(mean, std) entries from `rng`: Box-Muller on whole Philox blocks, both
    /// halves of each pair used (4 normals per block), so large inits stay fast.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout Philox) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        let n = t.count
        var i = 0
        while i < n {
            let (a, b, c, d) = rng.nextBlock()
            for (u1bits, u2bits) in [(a, b), (c, d)] where i < n {
                let u1 = Double(u1bits >> 8 + 1) / 16_777_217.0
                let u2 = Double(u2bits >> 8) / 16_777_216.0
                let r = (-2 * Foundation.log(u1)).squareRoot(), theta = 2 * Double.pi * u2
                p[i] = mean + std * Float(r * Foundation.cos(theta)); i += 1
                if i < n { p[i] = mean + std * Float(r * Foundation.sin(theta)); i += 1 }
            }
        }
        return t
    }

    /// Uniform[lo, hi) entries from `rng`.
    public static func randomUniform(_ shape: [Int], lo: Float = 0, hi: Float = 1, rng: inout Philox) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        for i in 0..<t.count { p[i] = lo + (hi - lo) * rng.uniform() }
        return t
    }
}

extension Variable {
    /// Inverted dropout: zero each element with probability p and scale the rest by
    /// 1/(1-p). p == 0 returns self unchanged.
    public func dropout(_ p: Float, rng: inout Philox) throws(TensorError) -> Variable {
        guard p >= 0 && p < 1 else { throw .invalidArgument(op: "dropout", detail: "p = \(p) must be in [0, 1)") }
        if p == 0 { return self }
        var mask = Tensor(uninitializedShape: shape)
        let mp = mask.storage.pointer, keep = 1 / (1 - p)
        for i in 0..<count { mp[i] = rng.uniform() < p ? 0 : keep }
        let y = Kernels.zipped(value, mask) { $0 * $1 }
        let m = mask
        return Tape.output(y, inputs: [self]) { g, _ in [Kernels.zipped(g, m) { $0 * $1 }] }
    }
}
