// libFuzzer target: a GGUF file — header, metadata and tensor table, the typed metadata
// reads a loader makes (config, tokenizer), then every supported tensor dequantized.
// Thrown GGUFErrors are accepted outcomes; only crashes count. Leaves out model building.
import FuzzSupport
import GGUF
import Models

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(UnsafeRawBufferPointer(start: data, count: size), as: "model.gguf")
    guard let file = try? GGUFFile(path: path) else { return 0 }
    _ = try? TransformerConfig.gguf(file)
    _ = try? GGUFTokenizer.load(file)
    for t in file.tensors where t.type.isSupported {
        _ = try? file.tensor(named: t.name)
    }
    return 0
}
