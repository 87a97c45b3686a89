// libFuzzer target: a `.safetensors` file (header validation, then every tensor read), or
// with separators an index.json + two shards opened as a SafeTensorsCollection. Only
// crashes count: every thrown SafeTensorsError is an accepted outcome. Leaves out writing.
import FuzzSupport
import SafeTensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = FuzzInput.split(UnsafeRawBufferPointer(start: data, count: size))
    if parts.count == 1 {
        let path = FuzzInput.write(parts[0], as: "model.safetensors")
        if let file = try? SafeTensorsFile(path: path) { readAll(file.names) { try file.tensor(named: $0) } ints: { try file.integers(named: $0) } }
        return 0
    }
    // index.json, shard 1, shard 2: the names the seed index refers to.
    let index = FuzzInput.write(parts[0], as: "model.safetensors.index.json")
    _ = FuzzInput.write(parts[1], as: "model-00001-of-00002.safetensors")
    _ = FuzzInput.write(parts.count > 2 ? parts[2] : [], as: "model-00002-of-00002.safetensors")
    if let c = try? SafeTensorsCollection(index: index) {
        readAll(c.names) { try c.tensor(named: $0) } ints: { try c.integers(named: $0) }
    }
    return 0
}

/// Reads every tensor both ways; one of the two refuses each dtype, which is fine.
private func readAll(_ names: [String], floats: (String) throws -> Any, ints: (String) throws -> [Int64]) {
    for name in names {
        _ = try? floats(name)
        _ = try? ints(name)
    }
}
