// JSONValue: a parsed JSON document with integers kept exact (Int64), so header offsets
// and shapes are never rounded through Double. Used for the header and the shard index.
// Leaves out: encoding (the writer emits its own byte-exact JSON, SafeTensorsJSON.swift).
import Foundation

indirect enum JSONValue: Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        // JSONDecoder will not coerce between these, so each try fails fast on the
        // wrong kind; Int64 before Double keeps 2^53+ offsets exact.
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// The JSON type name, for error messages.
    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// `[Int]` when this is an array of integers >= 0, else nil.
    var nonNegativeInts: [Int]? {
        guard case .array(let items) = self else { return nil }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case .int(let i) = item, i >= 0 else { return nil }
            out.append(Int(i))
        }
        return out
    }

    /// The JSON text cut to 60 characters, for quoting a bad value in an error message.
    var brief: String {
        let s = description
        return s.count <= 60 ? s : String(s.prefix(60)) + "..."
    }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .int(let i): return String(i)
        case .number(let d): return String(d)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.keys.sorted(by: byteOrder).map { "\"\($0)\":\(o[$0]!)" }.joined(separator: ",") + "}"
        }
    }
}
