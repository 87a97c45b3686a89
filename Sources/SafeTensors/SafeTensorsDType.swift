// SafeTensorsDType: the element types the format names, with their sizes and the order the
// reference writer lays them out in. Leaves out: conversion (DTypeConversion.swift).

public enum SafeTensorsDType: String, CaseIterable, Sendable {
    // Declared in the Rust crate's enum order, which is increasing alignment: the writer
    // sorts by this order descending (see `layoutRank`). Sub-byte F4/F6 are listed so a
    // header naming them is recognised; their byte count rounds bits up per tensor.
    case bool = "BOOL", f4 = "F4", f6e2m3 = "F6_E2M3", f6e3m2 = "F6_E3M2"
    case u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3", f8e8m0 = "F8_E8M0"
    case f8e4m3fnuz = "F8_E4M3FNUZ", f8e5m2fnuz = "F8_E5M2FNUZ"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", c64 = "C64", f64 = "F64", i64 = "I64", u64 = "U64"

    /// Bits per element (F4 and F6 pack below a byte).
    public var bitWidth: Int {
        switch self {
        case .f4: return 4
        case .f6e2m3, .f6e3m2: return 6
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Position in the Rust enum; `safetensors` writes higher ranks first, ties by name.
    var layoutRank: Int { Self.allCases.firstIndex(of: self)! }

    /// Whether `tensor(named:)` converts this dtype to Float32.
    public var isConvertibleToFloat: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        default: return false
        }
    }

    /// Whether `integers(named:)` reads this dtype.
    public var isInteger: Bool {
        switch self {
        case .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64: return true
        default: return false
        }
    }

    /// Bytes for `count` elements, or nil on overflow or a sub-byte tensor that does not
    /// end on a byte boundary (the Rust crate rejects those too).
    func byteCount(elements count: Int) -> Int? {
        let (bits, overflow) = count.multipliedReportingOverflow(by: bitWidth)
        guard !overflow, bits % 8 == 0 else { return nil }
        return bits / 8
    }
}
