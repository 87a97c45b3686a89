// `OpaqueCodable`: any Codable value stored as a JSON tree, so a container (TrainerState)
// can hold state whose type it does not know (a data position, an RNG) and hand it back
// typed: `OpaqueCodable(philox)` ... `try box.decode(Philox.self)`. Integers stay exact
// (UInt64 seeds survive). Leaves out type checking: decoding as the wrong type throws.
import Foundation

public struct OpaqueCodable: Codable, Equatable, Sendable {
    public let tree: JSONTree

    public init(tree: JSONTree) { self.tree = tree }

    /// Encodes `value` with JSONEncoder (non-finite floats as "NaN"/"Infinity" strings).
    public init<T: Encodable>(_ value: T) throws {
        tree = try JSONTree.parse(try Self.encoder().encode(value), file: "\(T.self)")
    }

    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try d.decode(T.self, from: try Self.encoder().encode(tree))
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }

    public init(from decoder: Decoder) throws { tree = try JSONTree(from: decoder) }
    public func encode(to encoder: Encoder) throws { try tree.encode(to: encoder) }
}

extension JSONTree: Codable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        if let strict = decoder as? TreeDecoder {   // free-form JSON inside a strict config
            self = strict.value
            return
        }
        if let c = try? decoder.container(keyedBy: Key.self) {
            self = .object(try c.allKeys.sorted { $0.stringValue < $1.stringValue }.map { ($0.stringValue, try c.decode(JSONTree.self, forKey: $0)) })
            return
        }
        if var c = try? decoder.unkeyedContainer() {
            var items: [JSONTree] = []
            while !c.isAtEnd { items.append(try c.decode(JSONTree.self)) }
            self = .array(items)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let u = try? c.decode(UInt64.self) { self = .uint(u) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
        case .int(let i): var c = encoder.singleValueContainer(); try c.encode(i)
        case .uint(let u): var c = encoder.singleValueContainer(); try c.encode(u)
        case .double(let d): var c = encoder.singleValueContainer(); try c.encode(d)
        case .string(let s): var c = encoder.singleValueContainer(); try c.encode(s)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for x in items { try c.encode(x) }
        case .object(let pairs):
            var c = encoder.container(keyedBy: Key.self)
            for (k, v) in pairs { try c.encode(v, forKey: Key(stringValue: k)) }
        }
    }
}
