// ModelError: loading, configuring and saving Hugging Face models. Messages name the file
// and the key or tensor involved.

public enum ModelError: Error, CustomStringConvertible {
    case config(file: String, detail: String)
    case unsupported(file: String, detail: String)
    case weights(file: String, detail: String)
    case io(path: String, detail: String)
    /// An error from a lower layer whose message already names the file and tensor.
    case underlying(String)

    public var description: String {
        switch self {
        case let .config(f, d): return "\(f): invalid config: \(d)"
        case let .unsupported(f, d): return "\(f): unsupported: \(d)"
        case let .weights(f, d): return "\(f): \(d)"
        case let .io(p, d): return "\(p): \(d)"
        case let .underlying(d): return d
        }
    }
}
