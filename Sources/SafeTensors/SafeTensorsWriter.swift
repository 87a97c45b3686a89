// SafeTensorsWriter: writes `[(name, Tensor)]` as a `.safetensors` file byte-identical to
// `safetensors.torch.save_file` (same header JSON, key order, space padding to 8 bytes and
// data order), atomically: temp file in the same directory, fsync, rename, fsync the dir.
// Leaves out: integer dtypes and shared/aliased tensors (every tensor is written in full).
// One difference from torch: a NaN written as F16/BF16 becomes the canonical quiet NaN.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorCore

public enum SafeTensorsWriter {
    /// Output element types the writer can produce.
    public static let writableDTypes: [SafeTensorsDType] = [.f32, .f16, .bf16]

    /// Writes `tensors` to `path`, replacing any existing file only once the new one is
    /// complete and on disk. `metadata: nil` omits `__metadata__`; transformers writes
    /// `["format": "pt"]`. F16/BF16 round to nearest even.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to path: String,
                             metadata: [String: String]? = nil, dtype: SafeTensorsDType = .f32) throws(SafeTensorsError) {
        let plan = try layout(tensors, metadata: metadata, dtype: dtype, path: path)
        try AtomicFile.write(path: path) { (sink: AtomicFile.Sink) throws(SafeTensorsError) in
            try sink.write(plan.prefix[...])
            for item in plan.order {
                let t = tensors[item].tensor
                try t.withUnsafeBufferPointer { (src) throws(SafeTensorsError) in
                    try writeTensor(src, dtype: dtype, to: sink)
                }
            }
        }
    }

    /// The whole file in memory: the same bytes `write` puts on disk.
    public static func serialize(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]? = nil,
                                 dtype: SafeTensorsDType = .f32) throws(SafeTensorsError) -> [UInt8] {
        let plan = try layout(tensors, metadata: metadata, dtype: dtype, path: "<memory>")
        var out = plan.prefix
        for item in plan.order {
            let t = tensors[item].tensor
            let bytes = dtype.byteCount(elements: t.count)!
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: bytes))
            t.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBytes { dst in
                    DTypeConversion.encode(src, as: dtype, into: UnsafeMutableRawBufferPointer(rebasing: dst[start..<(start + bytes)]))
                }
            }
        }
        return out
    }

    // MARK: - Layout

    private struct Plan {
        /// 8-byte length + padded header JSON.
        var prefix: [UInt8]
        /// Indices into the input, in data order.
        var order: [Int]
    }

    private static func layout(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]?,
                               dtype: SafeTensorsDType, path: String) throws(SafeTensorsError) -> Plan {
        guard writableDTypes.contains(dtype) else {
            throw .invalidWrite(path: path, tensor: "*", detail: "output dtype \(dtype.rawValue) is not one of F32, F16, BF16")
        }
        var seen = Set<String>()
        for (name, _) in tensors {
            guard name != "__metadata__" else { throw .invalidWrite(path: path, tensor: name, detail: "the name is reserved for the metadata map") }
            guard seen.insert(name).inserted else { throw .invalidWrite(path: path, tensor: name, detail: "the name appears twice") }
        }
        // safetensors sorts by dtype alignment descending, then by name; with one output
        // dtype that is the name order (bytewise, as Rust compares strings).
        let order = tensors.indices.sorted { byteOrder(tensors[$0].name, tensors[$1].name) }

        var json: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        if let metadata {
            // Rust serialises its HashMap in hash order, so a multi-key map is not
            // reproducible there; byte order here makes ours deterministic.
            json += Array("\"__metadata__\":{".utf8)
            for (i, key) in metadata.keys.sorted(by: byteOrder).enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                SafeTensorsJSON.appendString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                SafeTensorsJSON.appendString(metadata[key]!, to: &json)
            }
            json.append(UInt8(ascii: "}"))
            first = false
        }
        var offset = 0
        for i in order {
            let (name, t) = tensors[i]
            let bytes = dtype.byteCount(elements: t.count)!
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
            SafeTensorsJSON.appendString(name, to: &json)
            json += Array(":{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[".utf8)
            json += Array(t.shape.map(String.init).joined(separator: ",").utf8)
            json += Array("],\"data_offsets\":[\(offset),\(offset + bytes)]}".utf8)
            offset += bytes
        }
        json.append(UInt8(ascii: "}"))
        // Padding keeps the data region 8-byte aligned so readers can cast in place.
        json += repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8)

        var prefix = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
        prefix += json
        return Plan(prefix: prefix, order: order)
    }

    /// Streams one tensor, converting in bounded chunks so a BF16 save of a large model
    /// needs no second full-size buffer.
    private static func writeTensor(_ src: UnsafeBufferPointer<Float>, dtype: SafeTensorsDType, to sink: AtomicFile.Sink) throws(SafeTensorsError) {
        if dtype == .f32 {
            try sink.write(UnsafeRawBufferPointer(src))
            return
        }
        let chunk = 1 << 16
        let size = dtype.bitWidth / 8
        var buffer = [UInt8](repeating: 0, count: chunk * size)
        var start = 0
        while start < src.count {
            let n = min(chunk, src.count - start)
            let part = UnsafeBufferPointer(rebasing: src[start..<(start + n)])
            buffer.withUnsafeMutableBytes { dst in
                DTypeConversion.encode(part, as: dtype, into: UnsafeMutableRawBufferPointer(rebasing: dst[0..<(n * size)]))
            }
            try sink.write(buffer[0..<(n * size)])
            start += n
        }
    }
}
