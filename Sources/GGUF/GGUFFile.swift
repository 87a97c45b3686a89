// GGUFFile: a memory-mapped GGUF file (versions 2 and 3, little-endian): its metadata,
// its tensor table, and tensors dequantized to Float32 on request. Everything is checked
// when the file is opened (magic, version, counts, alignment, every tensor's type and byte
// range), so a bad file fails early with its name and the tensor. Leaves out v1 and
// big-endian files, and writing.
import TensorCore

/// One entry of the tensor table.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Outermost axis first, as numpy / PyTorch see it (GGUF lists ne[0], the contiguous axis, first).
    public let shape: [Int]
    public let type: GGMLType
    /// Byte offset of the data from the start of the file, and its length.
    public let fileOffset: Int
    public let byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: Int
    /// Metadata in file order, and by key.
    public let metadataKeys: [String]
    public let metadata: GGUFMetadata
    public let tensors: [GGUFTensorInfo]
    /// `general.alignment` (default 32): tensor data starts and offsets are multiples of it.
    public let alignment: Int
    /// Where the tensor data section starts.
    public let dataOffset: Int
    let mapped: GGUFMappedFile
    private let tensorIndex: [String: Int]

    public static let defaultAlignment = 32

    public init(path: String) throws(GGUFError) {
        self.path = path
        let mapped = try GGUFMappedFile(path: path)
        self.mapped = mapped
        var c = GGUFCursor(base: mapped.base, size: mapped.size, file: path)
        // 1. Header: magic, version, counts.
        try c.need(4, "the magic \"GGUF\"")
        let magic = (0..<4).map { mapped.base!.load(fromByteOffset: $0, as: UInt8.self) }
        guard magic == Array("GGUF".utf8) else {
            let shown = magic.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : "\\x\(String($0, radix: 16))" }.joined()
            throw .format(file: path, detail: "bad magic \"\(shown)\" (expected \"GGUF\")")
        }
        c.offset = 4
        let v = try c.u32("the version")
        switch v {
        case 2, 3: version = Int(v)
        case 1: throw .unsupported(file: path, detail: "GGUF version 1 (versions 2 and 3 are read; re-convert the model)")
        default:
            if v.byteSwapped == 2 || v.byteSwapped == 3 { throw .unsupported(file: path, detail: "big-endian GGUF") }
            throw .unsupported(file: path, detail: "GGUF version \(v) (versions 2 and 3 are read)")
        }
        let tensorCount = try c.count("the tensor count", minBytesEach: 24)
        let kvCount = try c.count("the metadata count", minBytesEach: 13)
        // 2. Metadata.
        var keys: [String] = [], meta: [String: GGUFValue] = [:]
        for i in 0..<kvCount {
            let key = try c.string("metadata key #\(i)")
            let raw = try c.u32("the type of metadata \"\(key)\"")
            guard let t = GGUFValueType(rawValue: raw) else {
                throw .format(file: path, detail: "metadata \"\(key)\" has unknown value type \(raw)")
            }
            let value = try c.value(t, "metadata \"\(key)\"")
            guard meta[key] == nil else { throw .format(file: path, detail: "metadata key \"\(key)\" appears twice") }
            keys.append(key); meta[key] = value
        }
        metadataKeys = keys; metadata = GGUFMetadata(file: path, values: meta)
        if let a = meta["general.alignment"] {
            guard case .uint32(let n) = a, n > 0, n & (n - 1) == 0 else {
                throw .metadata(file: path, key: "general.alignment", detail: "must be a uint32 power of two, got \(a)")
            }
            alignment = Int(n)
        } else {
            alignment = GGUFFile.defaultAlignment
        }
        // 3. Tensor table (offsets are relative to the aligned data section).
        var infos: [(name: String, shape: [Int], type: GGMLType, rel: Int, bytes: Int)] = []
        var index: [String: Int] = [:]
        for i in 0..<tensorCount {
            let name = try c.string("tensor name #\(i)")
            let nDims = try c.u32("the rank of tensor \"\(name)\"")
            guard nDims <= 4 else { throw .tensor(file: path, name: name, detail: "rank \(nDims) (GGML allows at most 4)") }
            var ne: [Int] = []
            for d in 0..<Int(nDims) {
                let n = try c.u64("dimension \(d) of tensor \"\(name)\"")
                guard n < 1 << 40 else { throw .tensor(file: path, name: name, detail: "dimension \(d) is \(n)") }
                ne.append(Int(n))
            }
            let rawType = try c.u32("the type of tensor \"\(name)\"")
            guard let type = GGMLType(rawValue: rawType) else {
                throw .tensor(file: path, name: name, detail: "unknown tensor type id \(rawType) (supported: \(GGMLType.supported.map(\.description).joined(separator: ", ")))")
            }
            let rel = try c.u64("the data offset of tensor \"\(name)\"")
            var count = 1
            for n in ne {
                let (p, o) = count.multipliedReportingOverflow(by: n)
                guard !o, p < 1 << 48 else { throw .tensor(file: path, name: name, detail: "element count overflows") }
                count = p
            }
            let (blockElems, blockBytes) = type.blockLayout
            let rowLength = ne.first ?? 1
            guard rowLength % blockElems == 0 else {
                throw .tensor(file: path, name: name, detail: "row length \(rowLength) is not a multiple of the \(type) block size \(blockElems)")
            }
            guard index[name] == nil else { throw .format(file: path, detail: "tensor \"\(name)\" appears twice") }
            guard rel < 1 << 62 else { throw .tensor(file: path, name: name, detail: "data offset \(rel) out of range") }
            index[name] = infos.count
            infos.append((name, ne.reversed(), type, Int(rel), count / blockElems * blockBytes))
        }
        dataOffset = (c.offset + alignment - 1) / alignment * alignment
        var table: [GGUFTensorInfo] = []
        for t in infos {
            guard t.rel % alignment == 0 else {
                throw .tensor(file: path, name: t.name, detail: "data offset \(t.rel) is not a multiple of the alignment \(alignment)")
            }
            let start = dataOffset + t.rel
            guard start <= mapped.size, t.bytes <= mapped.size - start else {
                throw .tensor(file: path, name: t.name, detail: "data out of range: bytes \(start)..<\(start + t.bytes) of a \(mapped.size)-byte file (truncated?)")
            }
            table.append(GGUFTensorInfo(name: t.name, shape: t.shape, type: t.type, fileOffset: start, byteCount: t.bytes))
        }
        tensors = table
        tensorIndex = index
    }

    public func info(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }
    public func contains(_ name: String) -> Bool { tensorIndex[name] != nil }

    /// The tensor's values as Float32, shape outermost first.
    public func tensor(named name: String) throws(GGUFError) -> Tensor {
        guard let t = info(name) else { throw .tensor(file: path, name: name, detail: "not in this file") }
        guard t.type.isSupported else {
            throw .tensor(file: path, name: name, detail: "type \(t.type) cannot be dequantized (supported: \(GGMLType.supported.map(\.description).joined(separator: ", ")))")
        }
        var out = Tensor(uninitializedShape: t.shape)
        let src = mapped.base.map { $0 + t.fileOffset }
        withExtendedLifetime(mapped) {
            out.withUnsafeMutableBufferPointer { dst in
                guard let src, let d = dst.baseAddress, t.elementCount > 0 else { return }
                GGUFDequantize.decodeParallel(t.type, src, count: t.elementCount, into: d)
            }
        }
        return out
    }

    /// The raw bytes of a tensor (valid while `self` is alive).
    public func withRawBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let t = info(name) else { throw GGUFError.tensor(file: path, name: name, detail: "not in this file") }
        return try withExtendedLifetime(mapped) {
            try body(UnsafeRawBufferPointer(start: mapped.base.map { $0 + t.fileOffset }, count: t.byteCount))
        }
    }
}
