// TextDocuments: documents for evaluation — each non-empty line of a .txt file, or the
// "text" field of each line of a .jsonl file. Errors name the file and line.
import Foundation

public enum TextDocuments {
    public static func read(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DocumentError(message: "\(path): cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DocumentError(message: "\(path): not valid UTF-8")
        }
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        var docs: [String] = []
        let jsonl = path.hasSuffix(".jsonl")
        for (i, raw) in lines.enumerated() {
            let line = String(raw)
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if !jsonl { docs.append(line); continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw DocumentError(message: "\(path):\(i + 1): not a JSON object")
            }
            guard let t = obj["text"] as? String else {
                throw DocumentError(message: "\(path):\(i + 1): missing string field \"text\"")
            }
            docs.append(t)
        }
        guard !docs.isEmpty else { throw DocumentError(message: "\(path): no documents (every line is empty)") }
        return docs
    }
}

public struct DocumentError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
