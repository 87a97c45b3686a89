// JSON Lines reading: one JSON object per line, with 1-based line numbers kept for errors.
// Blank (whitespace-only) lines are skipped, as `datasets`/pandas skip them; a UTF-8 BOM
// and CRLF endings are accepted. A file with no rows is an error. Leaves out streaming:
// datasets for this library fit in memory.
import Foundation
import Tokenizers

/// One parsed line: its location and the JSON object it holds.
public struct JSONLRow: Sendable {
    public var source: SourceLine
    /// The object's fields in file order.
    public var fields: [(String, JSONValue)]

    public subscript(key: String) -> JSONValue? { fields.first { $0.0 == key }?.1 }
    public func has(_ key: String) -> Bool { self[key].map { !$0.isNull } ?? false }
}

public enum JSONLines {
    /// Reads `url`; errors name `url.lastPathComponent`.
    public static func read(_ url: URL) throws -> [JSONLRow] {
        let name = url.lastPathComponent
        let data: Foundation.Data
        do { data = try Foundation.Data(contentsOf: url) } catch {
            throw DataError.io(file: name, message: "cannot read (\(error.localizedDescription))")
        }
        return try parse(data, file: name)
    }

    /// Parses JSONL text; `file` names it in errors.
    public static func parse(_ data: Foundation.Data, file: String) throws -> [JSONLRow] {
        var rows: [JSONLRow] = []
        let bytes = [UInt8](data)
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var lineNumber = 0
        while start <= bytes.count {
            lineNumber += 1
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = bytes[start..<lineEnd]
            defer { start = end + 1 }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let source = SourceLine(file: file, line: lineNumber)
            let value: JSONValue
            do { value = try JSONValue.parse(Foundation.Data(line)) } catch let TokenizerError.malformedJSON(message, offset) {
                throw DataError.invalidRow(source, "not valid JSON (\(message) at column \(offset + 1))")
            } catch {
                throw DataError.invalidRow(source, "not valid JSON (\(error))")
            }
            guard let pairs = value.objectPairs else {
                throw DataError.invalidRow(source, "expected a JSON object, got \(kind(value))")
            }
            rows.append(JSONLRow(source: source, fields: pairs))
        }
        if rows.isEmpty { throw DataError.emptyDataset(file: file) }
        return rows
    }

    /// "a string", "a number", ... for error messages.
    public static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}
