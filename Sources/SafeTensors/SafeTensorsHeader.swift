// SafeTensorsHeader: parses and strictly validates the 8-byte length and the JSON header,
// enforcing what the Rust `safetensors` crate enforces (header <= 100 MB; entries tile the
// data region exactly from 0 to its end, no overlap, no gap, no trailing bytes; byte count
// == shape product x dtype size) and naming the file and tensor on every failure.
// Leaves out: reading tensor bytes (SafeTensorsFile) and writing (SafeTensorsWriter).
import Foundation

struct SafeTensorsHeader {
    /// Entries in data order (by begin offset), which is the order the file stores them.
    let entries: [SafeTensorsEntry]
    let metadata: [String: String]
    /// File offset of the data region: 8 + header length.
    let dataStart: Int

    /// The Rust crate's `MAX_HEADER_SIZE`: a larger length is corruption, not a model.
    static let maxHeaderLength = 100_000_000

    static func parse(_ file: MappedFile) throws(SafeTensorsError) -> SafeTensorsHeader {
        let path = file.path
        // 1. The length prefix.
        guard file.size >= 8 else { throw .truncated(path: path, fileSize: file.size) }
        let n = file.withBytes(0..<8) { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(maxHeaderLength) else { throw .headerTooLarge(path: path, headerLength: n, limit: maxHeaderLength) }
        guard 8 + Int(n) <= file.size else { throw .headerLengthExceedsFile(path: path, headerLength: n, fileSize: file.size) }
        let dataStart = 8 + Int(n)
        let dataSize = file.size - dataStart

        // 2. The JSON object.
        let json = file.withBytes(8..<dataStart) { Data($0) }
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: json)
        } catch {
            throw .invalidHeader(path: path, detail: "not valid UTF-8 JSON (\(describe(error)))")
        }
        guard case .object(let object) = root else {
            throw .invalidHeader(path: path, detail: "expected a JSON object, found \(root.kind)")
        }

        // 3. Each entry on its own. Names are visited in byte order so that, of several
        //    problems, the same one is always reported.
        var metadata: [String: String] = [:]
        var entries: [SafeTensorsEntry] = []
        entries.reserveCapacity(object.count)
        for name in object.keys.sorted(by: byteOrder) {
            let value = object[name]!
            if name == "__metadata__" {
                metadata = try parseMetadata(value, path: path)
                continue
            }
            let entry = try parseEntry(name: name, value, path: path)
            // Range checks before the size check: an offset past the end is the likelier
            // diagnosis for a truncated file than a dtype/shape disagreement.
            guard entry.dataOffsets.upperBound <= dataSize else {
                throw .invalidOffsets(path: path, tensor: name,
                                      detail: "[\(entry.dataOffsets.lowerBound), \(entry.dataOffsets.upperBound)] ends past the data region of \(dataSize) bytes")
            }
            let elements = try checkedElementCount(entry.shape, name: name, path: path)
            guard let expected = entry.dtype.byteCount(elements: elements) else {
                throw .invalidEntry(path: path, tensor: name, detail: "\(entry.dtype.rawValue) shape \(entry.shape) does not fill whole bytes")
            }
            guard expected == entry.byteCount else {
                throw .byteCountMismatch(path: path, tensor: name, dtype: entry.dtype.rawValue, shape: entry.shape,
                                         expectedBytes: expected, actualBytes: entry.byteCount)
            }
            entries.append(entry)
        }

        // 4. Together: the entries must tile [0, dataSize) with no overlap and no hole.
        entries.sort { a, b in
            (a.dataOffsets.lowerBound, a.dataOffsets.upperBound) < (b.dataOffsets.lowerBound, b.dataOffsets.upperBound)
        }
        var cursor = 0
        var previous: SafeTensorsEntry?
        for e in entries {
            let r = e.dataOffsets
            if r.lowerBound < cursor, let previous {
                throw .invalidOffsets(path: path, tensor: e.name,
                                      detail: "[\(r.lowerBound), \(r.upperBound)] overlaps tensor '\(previous.name)' at [\(previous.dataOffsets.lowerBound), \(previous.dataOffsets.upperBound)]")
            }
            if r.lowerBound > cursor {
                throw .invalidOffsets(path: path, tensor: e.name,
                                      detail: "[\(r.lowerBound), \(r.upperBound)] leaves bytes [\(cursor), \(r.lowerBound)) of the data region unused; the format requires the data region be fully covered")
            }
            cursor = r.upperBound
            previous = e
        }
        guard cursor == dataSize else {
            throw .incompleteBuffer(path: path, coveredBytes: cursor, dataBytes: dataSize)
        }
        return SafeTensorsHeader(entries: entries, metadata: metadata, dataStart: dataStart)
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws(SafeTensorsError) -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let map):
            var out: [String: String] = [:]
            for (k, v) in map {
                guard case .string(let s) = v else {
                    throw .invalidHeader(path: path, detail: "__metadata__['\(k)'] must be a string, found \(v.kind)")
                }
                out[k] = s
            }
            return out
        default:
            throw .invalidHeader(path: path, detail: "__metadata__ must be an object of strings, found \(value.kind)")
        }
    }

    private static func parseEntry(name: String, _ value: JSONValue, path: String) throws(SafeTensorsError) -> SafeTensorsEntry {
        guard case .object(let fields) = value else {
            throw .invalidEntry(path: path, tensor: name, detail: "expected an object with dtype, shape, data_offsets; found \(value.kind)")
        }
        // Other keys are ignored, as the Rust crate's serde derive ignores them.
        guard let dtypeValue = fields["dtype"] else { throw .invalidEntry(path: path, tensor: name, detail: "missing 'dtype'") }
        guard let shapeValue = fields["shape"] else { throw .invalidEntry(path: path, tensor: name, detail: "missing 'shape'") }
        guard let offsetsValue = fields["data_offsets"] else { throw .invalidEntry(path: path, tensor: name, detail: "missing 'data_offsets'") }

        guard case .string(let dtypeString) = dtypeValue else {
            throw .invalidEntry(path: path, tensor: name, detail: "'dtype' must be a string, found \(dtypeValue.kind)")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeString) else {
            throw .unknownDType(path: path, tensor: name, dtype: dtypeString)
        }
        guard let shape = shapeValue.nonNegativeInts else {
            throw .invalidEntry(path: path, tensor: name, detail: "'shape' must be an array of non-negative integers, found \(shapeValue.brief)")
        }
        guard let offsets = offsetsValue.nonNegativeInts, offsets.count == 2 else {
            throw .invalidEntry(path: path, tensor: name, detail: "'data_offsets' must be two non-negative integers [begin, end], found \(offsetsValue.brief)")
        }
        guard offsets[0] <= offsets[1] else {
            throw .invalidOffsets(path: path, tensor: name, detail: "begin \(offsets[0]) > end \(offsets[1])")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, dataOffsets: offsets[0]..<offsets[1])
    }

    private static func checkedElementCount(_ shape: [Int], name: String, path: String) throws(SafeTensorsError) -> Int {
        var n = 1
        for d in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .invalidEntry(path: path, tensor: name, detail: "shape \(shape) element count overflows") }
            n = p
        }
        return n
    }

    private static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let under = context.underlyingError.map { ": \($0)" } ?? ""
            return context.debugDescription + under
        }
        return String(describing: error)
    }
}

/// Byte-wise (UTF-8) string order, the order Rust's `str::cmp` and Python's sort of the
/// encoded names use; Swift's `<` compares by Unicode canonical equivalence instead.
func byteOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
