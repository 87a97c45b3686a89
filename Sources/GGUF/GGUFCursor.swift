// GGUFCursor: bounds-checked little-endian reads from the start of a mapped GGUF file —
// the header, metadata and tensor table. Running off the end is a `.format` error
// saying what was being read; counts are checked against the bytes left before any
// allocation. Leaves out big-endian files (refused by the reader).

struct GGUFCursor {
    let base: UnsafeRawPointer?
    let size: Int
    let file: String
    var offset = 0

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws(GGUFError) {
        guard n >= 0, n <= size - offset else {
            throw .format(file: file, detail: "truncated: \(what()) needs \(n) bytes at offset \(offset), the file has \(size)")
        }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        try need(MemoryLayout<T>.size, what())
        let v = base!.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func u32(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt32 { try load(UInt32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt64 { try load(UInt64.self, what()) }

    /// A count stored as u64, which must fit in the bytes left at `minBytesEach` per item.
    mutating func count(_ what: @autoclosure () -> String, minBytesEach: Int) throws(GGUFError) -> Int {
        let n = try u64(what())
        guard n <= UInt64(Int.max), Int(n) <= (size - offset) / max(minBytesEach, 1) else {
            throw .format(file: file, detail: "truncated or corrupt: \(what()) is \(n), more than the \(size - offset) bytes left at offset \(offset) can hold")
        }
        return Int(n)
    }

    mutating func string(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let n = try count("length of \(what())", minBytesEach: 1)
        let s = String(decoding: UnsafeRawBufferPointer(start: base! + offset, count: n), as: UTF8.self)
        offset += n
        return s
    }

    mutating func value(_ type: GGUFValueType, _ what: @autoclosure () -> String, depth: Int = 0) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try load(UInt8.self, what()))
        case .int8: return .int8(try load(Int8.self, what()))
        case .uint16: return .uint16(try load(UInt16.self, what()))
        case .int16: return .int16(try load(Int16.self, what()))
        case .uint32: return .uint32(try load(UInt32.self, what()))
        case .int32: return .int32(try load(Int32.self, what()))
        case .uint64: return .uint64(try load(UInt64.self, what()))
        case .int64: return .int64(try load(Int64.self, what()))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self, what())))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self, what())))
        case .bool:
            let b = try load(UInt8.self, what())
            guard b <= 1 else { throw .format(file: file, detail: "\(what()): bool byte \(b) is neither 0 nor 1") }
            return .bool(b == 1)
        case .string: return .string(try string(what()))
        case .array:
            guard depth < 8 else { throw .format(file: file, detail: "\(what()): arrays nested deeper than 8") }
            let raw = try u32("element type of \(what())")
            guard let et = GGUFValueType(rawValue: raw) else {
                throw .format(file: file, detail: "\(what()): unknown array element type \(raw)")
            }
            let minEach: Int
            switch et {
            case .uint8, .int8, .bool: minEach = 1
            case .uint16, .int16: minEach = 2
            case .uint32, .int32, .float32: minEach = 4
            case .uint64, .int64, .float64, .string: minEach = 8
            case .array: minEach = 12
            }
            let n = try count("element count of \(what())", minBytesEach: minEach)
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for i in 0..<n { items.append(try value(et, "\(what())[\(i)]", depth: depth + 1)) }
            return .array(et, items)
        }
    }
}
