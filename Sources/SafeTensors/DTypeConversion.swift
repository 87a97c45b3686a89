// DTypeConversion: little-endian file bytes <-> Float32 for F32, F16, BF16 and F64, and
// the integer dtypes -> Int64. Each loop is the plain per-element form; with
// `-target-cpu native` the F16 one compiles to F16C `vcvtph2ps` and the others vectorise.
// Leaves out: the F8/F4/F6/C64 dtypes (listed in headers but never converted).

#if _endian(big)
#error("SafeTensors assumes a little-endian host: the format stores little-endian bytes")
#endif

enum DTypeConversion {
    /// Decodes `dst.count` elements of `dtype` from `src` (unaligned bytes are fine).
    /// Precondition: `dtype.isConvertibleToFloat` and `src.count == dst.count * size`.
    static func decode(_ src: UnsafeRawBufferPointer, dtype: SafeTensorsDType, into dst: UnsafeMutableBufferPointer<Float>) {
        let n = dst.count
        guard n > 0, let s = src.baseAddress, let d = dst.baseAddress else { return }
        switch dtype {
        case .f32:
            d.withMemoryRebound(to: UInt8.self, capacity: n * 4) { $0.update(from: s.assumingMemoryBound(to: UInt8.self), count: n * 4) }
        case .f16:
            for i in 0..<n { d[i] = Float(Float16(bitPattern: s.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bf16:
            // BF16 is the top half of an F32: widening is exact, NaN payloads included.
            for i in 0..<n { d[i] = Float(bitPattern: UInt32(s.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .f64:
            // Round to nearest even, as torch's `.float()`; beyond Float's range becomes inf.
            for i in 0..<n { d[i] = Float(s.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        default:
            preconditionFailure("DTypeConversion.decode: \(dtype.rawValue) is not a float dtype")
        }
    }

    /// Encodes `src` as `dtype` (F32, F16 or BF16) into `dst`, which holds exactly the bytes.
    static func encode(_ src: UnsafeBufferPointer<Float>, as dtype: SafeTensorsDType, into dst: UnsafeMutableRawBufferPointer) {
        let n = src.count
        guard n > 0, let s = src.baseAddress, let d = dst.baseAddress else { return }
        switch dtype {
        case .f32:
            d.copyMemory(from: s, byteCount: n * 4)
        case .f16:
            // IEEE round-to-nearest-even, as torch's `.half()`; NaN becomes the quiet NaN
            // with its sign kept (torch's vector path writes 0x7FFF instead).
            for i in 0..<n { d.storeBytes(of: Float16(s[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16:
            for i in 0..<n { d.storeBytes(of: bfloat16Bits(s[i]), toByteOffset: 2 * i, as: UInt16.self) }
        default:
            preconditionFailure("DTypeConversion.encode: cannot write \(dtype.rawValue)")
        }
    }

    /// F32 -> BF16 with round-to-nearest-even, as c10's `round_to_nearest_even`; NaN maps
    /// to a quiet NaN of the same sign (0x7FC0 / 0xFFC0) so it never rounds to infinity.
    @inline(__always)
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// Decodes an integer (or BOOL) dtype into Int64; nil for a U64 value above Int64.max.
    static func decodeIntegers(_ src: UnsafeRawBufferPointer, dtype: SafeTensorsDType, count n: Int) -> [Int64]? {
        guard n > 0, let s = src.baseAddress else { return [] }
        var out = [Int64](repeating: 0, count: n)
        var ok = true
        out.withUnsafeMutableBufferPointer { d in
            switch dtype {
            case .bool, .u8: for i in 0..<n { d[i] = Int64(s.load(fromByteOffset: i, as: UInt8.self)) }
            case .i8: for i in 0..<n { d[i] = Int64(s.load(fromByteOffset: i, as: Int8.self)) }
            case .i16: for i in 0..<n { d[i] = Int64(s.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
            case .u16: for i in 0..<n { d[i] = Int64(s.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            case .i32: for i in 0..<n { d[i] = Int64(s.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
            case .u32: for i in 0..<n { d[i] = Int64(s.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            case .i64: for i in 0..<n { d[i] = s.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self) }
            case .u64:
                for i in 0..<n {
                    let v = s.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                    guard let x = Int64(exactly: v) else { ok = false; return }
                    d[i] = x
                }
            default:
                preconditionFailure("DTypeConversion.decodeIntegers: \(dtype.rawValue) is not an integer dtype")
            }
        }
        return ok ? out : nil
    }
}
