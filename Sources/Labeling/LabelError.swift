// Errors from labelling: bad configuration, a prompts or preference file that does not fit,
// and model failures. Each names the flag, file and line it is about.
import Foundation

public enum LabelError: Error, CustomStringConvertible, Equatable {
    case config(String)
    /// A file (prompts, --out, its side files) that cannot be used; message names file:line.
    case file(String)
    case model(String)

    public var description: String {
        switch self {
        case .config(let s): return "label: \(s)"
        case .file(let s): return "label: \(s)"
        case .model(let s): return "label: model: \(s)"
        }
    }
}
