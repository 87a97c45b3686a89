// GGUFDequantize: GGML blocks to Float32, bit-exact with gguf-py's `gguf.quants.dequantize`
// (same float32 operations in the same order, no fused multiply-add). One plain loop per
// type over its blocks; `decodeParallel` only splits the blocks across threads.
// Leaves out the other quant families (Q2_K, Q3_K, IQ*, TQ*, MXFP4): refused by GGUFFile.
import TensorCore

public enum GGUFDequantize {
    /// Decodes `count` elements (a whole number of blocks) of `type` at `src` into `dst`.
    public static func decode(_ type: GGMLType, _ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        let (elems, bytes) = type.blockLayout
        let blocks = count / elems
        switch type {
        case .f32: for i in 0..<count { dst[i] = Float(bitPattern: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        case .f16: for i in 0..<count { dst[i] = half(src, 2 * i) }
        case .bf16: for i in 0..<count { dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .q8_0: for b in 0..<blocks { q8_0(src + b * bytes, dst + b * elems) }
        case .q4_0: for b in 0..<blocks { q4_0(src + b * bytes, dst + b * elems) }
        case .q4_1: for b in 0..<blocks { q4_1(src + b * bytes, dst + b * elems) }
        case .q5_0: for b in 0..<blocks { q5_0(src + b * bytes, dst + b * elems) }
        case .q5_1: for b in 0..<blocks { q5_1(src + b * bytes, dst + b * elems) }
        case .q4_K: for b in 0..<blocks { q4_K(src + b * bytes, dst + b * elems) }
        case .q5_K: for b in 0..<blocks { q5_K(src + b * bytes, dst + b * elems) }
        case .q6_K: for b in 0..<blocks { q6_K(src + b * bytes, dst + b * elems) }
        default: preconditionFailure("GGUFDequantize: \(type) is not supported (GGUFFile refuses it)")
        }
    }

    /// `decode`, with the blocks split into chunks run on `ThreadPool.shared`.
    public static func decodeParallel(_ type: GGMLType, _ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        let (elems, bytes) = type.blockLayout
        let blocks = count / elems
        let chunkBlocks = max(1, (1 << 16) / elems)     // ~64k elements per chunk
        let chunks = (blocks + chunkBlocks - 1) / chunkBlocks
        if chunks <= 1 { return decode(type, src, count: count, into: dst) }
        let s = UncheckedSendable(src), d = UncheckedSendable(dst)
        ThreadPool.shared.parallelFor(chunks) { c in
            let b0 = c * chunkBlocks, b1 = min(blocks, b0 + chunkBlocks)
            decode(type, s.value + b0 * bytes, count: (b1 - b0) * elems, into: d.value + b0 * elems)
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// d f16 | 32 x int8:  x = q * d
    static func q8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: byte(b, 2 + j))) * d }
    }

    /// d f16 | 16 bytes of nibbles (low nibbles = elements 0..15, high = 16..31):  x = d * (q - 8)
    static func q4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<16 {
            let q = byte(b, 2 + j)
            y[j] = d * Float(Int(q & 0x0F) - 8)
            y[j + 16] = d * Float(Int(q >> 4) - 8)
        }
    }

    /// d f16 | m f16 | 16 bytes of nibbles:  x = d * q + m
    static func q4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        for j in 0..<16 {
            let q = byte(b, 4 + j)
            let lo = d * Float(q & 0x0F), hi = d * Float(q >> 4)
            y[j] = lo + m
            y[j + 16] = hi + m
        }
    }

    /// d f16 | qh u32 (bit j = 5th bit of element j) | 16 bytes of nibbles:  x = d * (q - 16)
    static func q5_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        let qh = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let q = byte(b, 6 + j)
            let lo = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
            let hi = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = d * Float(lo - 16)
            y[j + 16] = d * Float(hi - 16)
        }
    }

    /// d f16 | m f16 | qh u32 | 16 bytes of nibbles:  x = d * q + m
    static func q5_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        let qh = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0..<16 {
            let q = byte(b, 8 + j)
            let lo = UInt32(q & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
            let hi = UInt32(q >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
            let a = d * Float(lo), c = d * Float(hi)
            y[j] = a + m
            y[j + 16] = c + m
        }
    }

    /// The eight 6-bit (scale, min) pairs packed in 12 bytes (Q4_K and Q5_K).
    @inline(__always) static func scaleMin(_ s: UnsafeRawPointer, _ j: Int) -> (UInt8, UInt8) {
        if j < 4 { return (byte(s, j) & 0x3F, byte(s, 4 + j) & 0x3F) }
        let md = byte(s, 8 + j - 4)
        return ((md & 0x0F) | ((byte(s, j - 4) >> 2) & 0x30), (md >> 4) | ((byte(s, j) >> 2) & 0x30))
    }

    /// d f16 | dmin f16 | 12 bytes scales/mins | 128 bytes of nibbles; 8 sub-blocks of 32:
    /// x = (d * sc) * q - (dmin * m). Sub-block 2i is the low nibbles of bytes 32i..<32i+32.
    static func q4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        let qs = b + 16
        for j in 0..<8 {
            let (sc, m) = scaleMin(b + 4, j)
            let dl = d * Float(sc), ml = dmin * Float(m)
            let shift = UInt8(4 * (j & 1)), base = 32 * (j >> 1)
            for l in 0..<32 {
                let q = (byte(qs, base + l) >> shift) & 0x0F
                let p = dl * Float(q)
                y[32 * j + l] = p - ml
            }
        }
    }

    /// d f16 | dmin f16 | 12 bytes scales/mins | 32 bytes qh (bit j of byte l = 5th bit of
    /// element 32j + l) | 128 bytes of nibbles (as Q4_K):  x = (d * sc) * q - (dmin * m)
    static func q5_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        let qh = b + 16, qs = b + 48
        for j in 0..<8 {
            let (sc, m) = scaleMin(b + 4, j)
            let dl = d * Float(sc), ml = dmin * Float(m)
            let shift = UInt8(4 * (j & 1)), base = 32 * (j >> 1)
            for l in 0..<32 {
                let q = ((byte(qs, base + l) >> shift) & 0x0F) | (((byte(qh, l) >> UInt8(j)) & 1) << 4)
                let p = dl * Float(q)
                y[32 * j + l] = p - ml
            }
        }
    }

    /// 128 bytes ql (low 4 bits) | 64 bytes qh (high 2 bits) | 16 int8 scales | d f16;
    /// x = (d * scale[e / 16]) * (q - 32). For element e = 128h + 64s + l (l < 64): low bits
    /// are nibble s of ql[64h + l]; with e = 128h + 32t + l (l < 32) the high bits are
    /// bits 2t..2t+1 of qh[32h + l].
    static func q6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let ql = b, qh = b + 128, sc = b + 192
        let d = half(b, 208)
        for h in 0..<2 {
            for r in 0..<128 {
                let e = 128 * h + r
                let lo = (byte(ql, 64 * h + (r & 63)) >> UInt8(4 * (r >> 6))) & 0x0F
                let hi = (byte(qh, 32 * h + (r & 31)) >> UInt8(2 * (r >> 5))) & 0x03
                let q = Int(lo | (hi << 4)) - 32
                let ds = d * Float(Int8(bitPattern: byte(sc, e >> 4)))
                y[e] = ds * Float(q)
            }
        }
    }
}
