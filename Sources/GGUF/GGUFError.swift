// GGUFError: everything that can go wrong reading a GGUF file or mapping it onto a model.
// Every message names the file, and the key or tensor involved when there is one.

public enum GGUFError: Error, CustomStringConvertible {
    case io(file: String, detail: String)
    /// The header, metadata or tensor table is malformed (bad magic, truncated, bad counts).
    case format(file: String, detail: String)
    /// A well-formed file using something we do not implement (version, quant type, arch).
    case unsupported(file: String, detail: String)
    /// A metadata key is missing or has the wrong type.
    case metadata(file: String, key: String, detail: String)
    /// A tensor is missing, out of range, of the wrong shape or type.
    case tensor(file: String, name: String, detail: String)
    /// An error from a lower layer (model or tokenizer construction), already descriptive.
    case underlying(file: String, detail: String)

    public var description: String {
        switch self {
        case let .io(f, d): return "\(f): \(d)"
        case let .format(f, d): return "\(f): not a valid GGUF file: \(d)"
        case let .unsupported(f, d): return "\(f): unsupported: \(d)"
        case let .metadata(f, k, d): return "\(f): metadata \"\(k)\": \(d)"
        case let .tensor(f, n, d): return "\(f): tensor \"\(n)\": \(d)"
        case let .underlying(f, d): return "\(f): \(d)"
        }
    }
}
