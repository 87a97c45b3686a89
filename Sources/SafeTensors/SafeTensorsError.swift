// SafeTensorsError: every way reading or writing a checkpoint can fail. Each message names
// the file, the tensor when there is one, and what was expected, so a bad download can be
// diagnosed from the message alone. Leaves out: errors of the model layer (unexpected or
// missing weight names for a given architecture, shape mismatch with a config).

public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// open/fstat/mmap/write/rename failed; `detail` carries the errno text.
    case io(path: String, detail: String)
    /// Fewer than the 8 bytes that hold the header length.
    case truncated(path: String, fileSize: Int)
    /// The header length exceeds the 100 MB cap (the Rust crate's `MAX_HEADER_SIZE`).
    case headerTooLarge(path: String, headerLength: UInt64, limit: Int)
    /// The header length points past the end of the file.
    case headerLengthExceedsFile(path: String, headerLength: UInt64, fileSize: Int)
    /// The header is not UTF-8 JSON, not an object, or `__metadata__` is not a string map.
    case invalidHeader(path: String, detail: String)
    /// A tensor entry lacks dtype/shape/data_offsets or has them of the wrong JSON type.
    case invalidEntry(path: String, tensor: String, detail: String)
    /// A dtype string outside the format's list.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// data_offsets out of range, reversed, overlapping, or leaving a gap.
    case invalidOffsets(path: String, tensor: String, detail: String)
    /// end - begin disagrees with shape product x dtype size.
    case byteCountMismatch(path: String, tensor: String, dtype: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// Bytes after the last tensor: the format requires the data region be fully covered.
    case incompleteBuffer(path: String, coveredBytes: Int, dataBytes: Int)
    /// The name is not in this file or collection.
    case tensorNotFound(path: String, tensor: String)
    /// The stored dtype cannot become the requested element type (e.g. I64 read as Float).
    case unsupportedConversion(path: String, tensor: String, dtype: String, detail: String)
    /// `model.safetensors.index.json` is not the expected `{"weight_map": {name: file}}`.
    case invalidIndex(path: String, detail: String)
    /// The index maps a tensor to a shard file that does not exist.
    case missingShard(index: String, tensor: String, shard: String)
    /// The index maps a tensor to a shard that does not contain it.
    case tensorMissingFromShard(index: String, tensor: String, shard: String)
    /// A model directory holding only pickle checkpoints, which are never loaded.
    case pickleCheckpoint(directory: String, files: [String])
    /// A model directory with neither safetensors weights nor pickles.
    case noWeights(directory: String, contents: [String])
    /// The writer was given something it cannot write (duplicate name, reserved name).
    case invalidWrite(path: String, tensor: String, detail: String)

    public var description: String {
        switch self {
        case let .io(path, detail):
            return "\(path): I/O error: \(detail)"
        case let .truncated(path, size):
            return "\(path): not a safetensors file: \(size) bytes, but the 8-byte header length alone needs 8"
        case let .headerTooLarge(path, n, limit):
            return "\(path): header length \(n) bytes exceeds the \(limit)-byte limit (corrupt or not a safetensors file)"
        case let .headerLengthExceedsFile(path, n, size):
            return "\(path): header length \(n) bytes + 8 exceeds the file size \(size) bytes (truncated download?)"
        case let .invalidHeader(path, detail):
            return "\(path): invalid header: \(detail)"
        case let .invalidEntry(path, tensor, detail):
            return "\(path): tensor '\(tensor)': invalid header entry: \(detail)"
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)': unknown dtype '\(dtype)' (expected one of \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .invalidOffsets(path, tensor, detail):
            return "\(path): tensor '\(tensor)': invalid data_offsets: \(detail)"
        case let .byteCountMismatch(path, tensor, dtype, shape, expected, actual):
            return "\(path): tensor '\(tensor)': \(dtype) shape \(shape) needs \(expected) bytes but data_offsets span \(actual)"
        case let .incompleteBuffer(path, covered, data):
            return "\(path): tensors cover \(covered) of the \(data) data bytes; the format requires the data region be fully covered (trailing bytes)"
        case let .tensorNotFound(path, tensor):
            return "\(path): no tensor named '\(tensor)'"
        case let .unsupportedConversion(path, tensor, dtype, detail):
            return "\(path): tensor '\(tensor)': cannot convert \(dtype): \(detail)"
        case let .invalidIndex(path, detail):
            return "\(path): invalid sharded-checkpoint index: \(detail)"
        case let .missingShard(index, tensor, shard):
            return "\(index): tensor '\(tensor)' is mapped to shard '\(shard)', which does not exist"
        case let .tensorMissingFromShard(index, tensor, shard):
            return "\(index): tensor '\(tensor)' is mapped to shard '\(shard)', which does not contain it"
        case let .pickleCheckpoint(directory, files):
            return """
                \(directory): only pickle checkpoints found (\(files.joined(separator: ", "))). Pickles can run \
                arbitrary code and are never loaded. Convert once with Python, only if you trust the source: \
                python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('\(directory)').save_pretrained('\(directory)', safe_serialization=True)"
                """
        case let .noWeights(directory, contents):
            // A big directory would drown the message; the first few names say enough.
            let shown = contents.prefix(10).joined(separator: ", ") + (contents.count > 10 ? ", ... (\(contents.count - 10) more)" : "")
            return "\(directory): no model.safetensors or model.safetensors.index.json (found: \(contents.isEmpty ? "nothing" : shown))"
        case let .invalidWrite(path, tensor, detail):
            return "\(path): cannot write tensor '\(tensor)': \(detail)"
        }
    }
}
