// ConfigFile: reads a trainer's JSON config with `--set key=value` overrides merged in
// before strict decoding, so an override with a typo is an unknown-key error like any other.
import Foundation
import RunKit

public enum ConfigFile {
    /// `overrides` are "key=value"; value is parsed as JSON when it is valid JSON, else taken as a string.
    public static func load<T: Decodable>(_ type: T.Type, path: String?, overrides: [String]) throws -> T {
        let file = path.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "(flags)"
        var tree: JSONTree = .object([])
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError.io(file: file, message: "cannot read config file \(path)")
            }
            tree = try JSONTree.parse(data, file: file)
        }
        guard case .object(var pairs) = tree else {
            throw ConfigError.invalidValue(file: file, field: "(top level)", message: "expected a JSON object")
        }
        for o in overrides {
            guard let eq = o.firstIndex(of: "="), eq != o.startIndex else {
                throw ConfigError.invalidValue(file: "--set", field: o, message: "expected key=value")
            }
            let key = String(o[..<eq]), raw = String(o[o.index(after: eq)...])
            let value = (try? JSONTree.parse(Foundation.Data(raw.utf8))) ?? .string(raw)
            if let i = pairs.firstIndex(where: { $0.key == key }) { pairs[i].value = value } else { pairs.append((key, value)) }
        }
        return try StrictConfigDecoder.decode(type, from: .object(pairs), file: file)
    }
}
