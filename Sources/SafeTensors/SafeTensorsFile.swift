// SafeTensorsFile: one memory-mapped `.safetensors` file, validated when opened; tensors
// are converted to Float32 `Tensor`s on request. Integer dtypes are never silently turned
// into floats: `tensor(named:)` refuses them and `integers(named:)` reads them as Int64.
// Leaves out: sharded checkpoints (SafeTensorsCollection) and writing (SafeTensorsWriter).
import Foundation
import TensorCore

public final class SafeTensorsFile: @unchecked Sendable {
    // Immutable after init, hence Sendable: concurrent reads of the mapping are safe.
    public let path: String
    /// The header's `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Entries in data order, the order the bytes are stored in.
    public let entries: [SafeTensorsEntry]
    private let byName: [String: Int]
    private let file: MappedFile
    private let dataStart: Int

    /// Maps and validates the file; every structural problem throws here, not on read.
    public init(path: String) throws(SafeTensorsError) {
        self.path = path
        file = try MappedFile(path: path)
        let header = try SafeTensorsHeader.parse(file)
        metadata = header.metadata
        entries = header.entries
        dataStart = header.dataStart
        byName = Dictionary(uniqueKeysWithValues: header.entries.enumerated().map { ($1.name, $0) })
    }

    public convenience init(url: URL) throws(SafeTensorsError) {
        try self.init(path: url.path)
    }

    /// Tensor names in byte order of their UTF-8 (deterministic, independent of layout).
    public var names: [String] { entries.map(\.name).sorted(by: byteOrder) }

    public func contains(_ name: String) -> Bool { byName[name] != nil }

    public func entry(named name: String) throws(SafeTensorsError) -> SafeTensorsEntry {
        guard let i = byName[name] else { throw .tensorNotFound(path: path, tensor: name) }
        return entries[i]
    }

    /// The tensor as Float32, converted from F32, F16, BF16 or F64 (F64 rounds to nearest).
    public func tensor(named name: String) throws(SafeTensorsError) -> Tensor {
        let e = try entry(named: name)
        guard e.dtype.isConvertibleToFloat else {
            let hint = e.dtype.isInteger ? "integer tensors are read with integers(named:)" : "only F32, F16, BF16 and F64 become Float32"
            throw .unsupportedConversion(path: path, tensor: name, dtype: e.dtype.rawValue, detail: hint)
        }
        var t = Tensor(uninitializedShape: e.shape)
        withRawBytes(e) { src in
            t.withUnsafeMutableBufferPointer { dst in DTypeConversion.decode(src, dtype: e.dtype, into: dst) }
        }
        return t
    }

    /// The elements of an integer or BOOL tensor, row-major, widened to Int64.
    public func integers(named name: String) throws(SafeTensorsError) -> [Int64] {
        let e = try entry(named: name)
        guard e.dtype.isInteger else {
            throw .unsupportedConversion(path: path, tensor: name, dtype: e.dtype.rawValue, detail: "integers(named:) reads integer and BOOL tensors only")
        }
        let values = withRawBytes(e) { DTypeConversion.decodeIntegers($0, dtype: e.dtype, count: e.elementCount) }
        guard let values else {
            throw .unsupportedConversion(path: path, tensor: name, dtype: e.dtype.rawValue, detail: "a value exceeds Int64.max")
        }
        return values
    }

    /// Zero-copy access to a tensor's stored bytes (little-endian, row-major), valid only
    /// inside `body`. For dtypes this reader does not convert.
    public func withRawBytes<R, E: Error>(named name: String, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws -> R {
        let e = try entry(named: name)
        return try withRawBytes(e, body)
    }

    private func withRawBytes<R, E: Error>(_ e: SafeTensorsEntry, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let start = dataStart + e.dataOffsets.lowerBound
        return try file.withBytes(start..<(start + e.byteCount), body)
    }
}
