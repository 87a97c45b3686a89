// SafeTensorsEntry: one validated header entry (name, dtype, shape, byte range).
// Leaves out: the bytes themselves (SafeTensorsFile reads those) and the validation rules
// (SafeTensorsHeader.swift).

public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    /// Outermost first; `[]` is a scalar.
    public let shape: [Int]
    /// Byte range within the data region, i.e. relative to the end of the header.
    public let dataOffsets: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { dataOffsets.count }
}
