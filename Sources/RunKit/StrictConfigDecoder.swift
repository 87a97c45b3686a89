// `StrictConfigDecoder`: decodes any `Decodable` config from JSON, refusing keys the type
// never reads ("unknown key \"lrr\" (did you mean \"lr\"?)") before any type error, and
// phrasing every failure as `file: field "a.b[2]": expected ..., got ...` (`ConfigError`).
// How: a Decoder over `JSONTree` that records the keys each object is asked for and keeps
// going past wrong types, so the whole file is checked in one pass. Leaves out encoding.
import Foundation

public enum StrictConfigDecoder {
    /// Decodes the JSON file at `url`; errors name `url.lastPathComponent`.
    public static func decode<T: Decodable>(_ type: T.Type, contentsOf url: URL) throws -> T {
        let name = url.lastPathComponent
        let data: Foundation.Data
        do { data = try Foundation.Data(contentsOf: url) } catch {
            throw ConfigError.io(file: name, message: "cannot read config file (\(error.localizedDescription))")
        }
        return try decode(type, from: data, file: name)
    }

    /// Decodes JSON text; `file` is the name used in error messages.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Foundation.Data, file: String) throws -> T {
        try decode(type, from: try JSONTree.parse(data, file: file), file: file)
    }

    /// Decodes an already parsed tree (e.g. a config file with command-line overrides merged in).
    /// Objects whose keys are read through `allKeys` (dictionaries) accept any key.
    public static func decode<T: Decodable>(_ type: T.Type, from tree: JSONTree, file: String) throws -> T {
        let state = DecodeState()
        var result: T?
        var thrown: Error?
        do { result = try T(from: TreeDecoder(value: tree, path: [], state: state)) } catch {
            thrown = error
            state.incomplete.insert([])
        }
        // 1. Unknown keys, in objects the type finished reading (elsewhere the set of keys it
        //    would have read is not known yet).
        for object in state.visited where !state.wildcard.contains(object.path) && !state.incomplete.contains(object.path) {
            let asked = state.requested[object.path] ?? []
            for key in object.keys where !asked.contains(key) {
                let known = asked.sorted()
                throw ConfigError.unknownKey(file: file, field: render(object.path + [.key(key)]),
                                             suggestion: nearestName(to: key, in: known), known: known)
            }
        }
        // 2. Wrong types, in file-reading order.
        if let p = state.problems.first { throw p.error(file: file) }
        // 3. Anything thrown (missing required fields, validation in the type's init).
        if let thrown { throw translate(thrown, tree: tree, state: state, file: file) }
        return result!
    }

    static func translate(_ error: Error, tree: JSONTree, state: DecodeState, file: String) -> Error {
        if let p = error as? FieldProblem { return p.error(file: file) }
        guard let e = error as? DecodingError else { return error }
        switch e {
        case let .keyNotFound(key, ctx):
            let path = components(ctx.codingPath)
            let missing = key.stringValue
            var hint: String?
            if let object = state.visited.first(where: { $0.path == path }) {
                let asked = state.requested[path] ?? []
                let spare = object.keys.filter { !asked.contains($0) }
                if let near = nearestName(to: missing, in: spare) { hint = "the file has \"\(near)\"; a typo?" }
            }
            return ConfigError.missingField(file: file, field: render(path + [.key(missing)]), hint: hint)
        case let .typeMismatch(type, ctx), let .valueNotFound(type, ctx):
            let path = components(ctx.codingPath)
            let got = value(at: path, in: tree).map(describe) ?? "nothing"
            return ConfigError.invalidField(file: file, field: render(path), message: "expected \(expectedName(type)), got \(got)")
        case let .dataCorrupted(ctx):
            return ConfigError.invalidValue(file: file, field: render(components(ctx.codingPath)), message: ctx.debugDescription)
        @unknown default:
            return ConfigError.invalidField(file: file, field: "", message: "\(e)")
        }
    }

    static func value(at path: [PathComponent], in tree: JSONTree) -> JSONTree? {
        var v = tree
        for c in path {
            switch (c, v) {
            case let (.key(k), .object): guard let next = v[k] else { return nil }; v = next
            case let (.index(i), .array(items)): guard i < items.count else { return nil }; v = items[i]
            default: return nil
            }
        }
        return v
    }

    static func describe(_ v: JSONTree) -> String {
        switch v {
        case .int(let x): return "\(x)"
        case .uint(let x): return "\(x)"
        case .double(let x): return "\(x)"
        default: return v.kindDescription
        }
    }

    static func expectedName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type, is UInt64.Type, is UInt32.Type: return "an integer"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array<") { return "an array" }
            if name.hasPrefix("Dictionary<") { return "an object" }
            return "a value of type \(name)"
        }
    }
}

// MARK: - paths

enum PathComponent: Hashable, Sendable {
    case key(String)
    case index(Int)
}

func components(_ codingPath: [CodingKey]) -> [PathComponent] {
    codingPath.map { k in
        if k.stringValue.isEmpty || k is IndexKey, let i = k.intValue { return .index(i) }
        return .key(k.stringValue)
    }
}

func render(_ path: [PathComponent]) -> String {
    var s = ""
    for c in path {
        switch c {
        case .key(let k): s += s.isEmpty ? k : ".\(k)"
        case .index(let i): s += "[\(i)]"
        }
    }
    return s
}

struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

/// A wrong type found while reading; the decoder records it and keeps going.
struct FieldProblem: Error {
    var path: [PathComponent]
    var message: String
    func error(file: String) -> ConfigError { .invalidField(file: file, field: render(path), message: message) }
}

final class DecodeState {
    struct Object { var path: [PathComponent]; var keys: [String] }
    var visited: [Object] = []
    var visitedPaths = Set<[PathComponent]>()
    var requested: [[PathComponent]: Set<String>] = [:]
    var wildcard = Set<[PathComponent]>()
    var incomplete = Set<[PathComponent]>()
    var problems: [FieldProblem] = []

    func visit(_ path: [PathComponent], keys: [String]) {
        if visitedPaths.insert(path).inserted { visited.append(Object(path: path, keys: keys)) }
    }
    func ask(_ path: [PathComponent], _ key: String) { requested[path, default: []].insert(key) }
}

// MARK: - the decoder

struct TreeDecoder: Decoder {
    let value: JSONTree
    let codingPath: [CodingKey]
    let state: DecodeState
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSONTree, path: [CodingKey], state: DecodeState) {
        self.value = value; self.codingPath = path; self.state = state
    }

    var pathComponents: [PathComponent] { components(codingPath) }

    func problem(_ message: String) { state.problems.append(FieldProblem(path: pathComponents, message: message)) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let pairs) = value else {
            problem("expected an object, got \(StrictConfigDecoder.describe(value))")
            return KeyedDecodingContainer(KeyedContainer<Key>(pairs: [], path: codingPath, state: state, phantom: true))
        }
        state.visit(pathComponents, keys: pairs.map(\.key))
        return KeyedDecodingContainer(KeyedContainer<Key>(pairs: pairs, path: codingPath, state: state, phantom: false))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let items) = value else {
            problem("expected an array, got \(StrictConfigDecoder.describe(value))")
            return UnkeyedContainer(items: [], codingPath: codingPath, state: state)
        }
        return UnkeyedContainer(items: items, codingPath: codingPath, state: state)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleContainer(decoder: self) }

    // Primitive reads: a wrong type is recorded and a placeholder returned, so reading goes on.
    func bool() -> Bool {
        if case .bool(let b) = value { return b }
        problem("expected a boolean, got \(StrictConfigDecoder.describe(value))"); return false
    }
    func string() -> String {
        if case .string(let s) = value { return s }
        problem("expected a string, got \(StrictConfigDecoder.describe(value))"); return ""
    }
    func double() -> Double {
        switch value {
        case .int(let x): return Double(x)
        case .uint(let x): return Double(x)
        case .double(let x): return x
        default: problem("expected a number, got \(StrictConfigDecoder.describe(value))"); return 0
        }
    }
    func float() -> Float {
        let d = double()
        let f = Float(d)
        if f.isInfinite && d.isFinite { problem("\(d) is out of range for a 32-bit float"); return 0 }
        return f
    }
    func integer<I: FixedWidthInteger>(_ type: I.Type) -> I {
        switch value {
        case .int(let x): if let v = I(exactly: x) { return v }
        case .uint(let x): if let v = I(exactly: x) { return v }
        case .double(let x): if x == x.rounded(), let v = I(exactly: x) { return v }
        default:
            problem("expected an integer, got \(StrictConfigDecoder.describe(value))"); return 0
        }
        if case .double(let x) = value, x != x.rounded() { problem("expected an integer, got \(x)"); return 0 }
        problem("expected an integer in \(I.min)...\(I.max), got \(StrictConfigDecoder.describe(value))"); return 0
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is Bool.Type: return bool() as! T
        case is String.Type: return string() as! T
        case is Double.Type: return double() as! T
        case is Float.Type: return float() as! T
        case is Int.Type: return integer(Int.self) as! T
        case is Int8.Type: return integer(Int8.self) as! T
        case is Int16.Type: return integer(Int16.self) as! T
        case is Int32.Type: return integer(Int32.self) as! T
        case is Int64.Type: return integer(Int64.self) as! T
        case is UInt.Type: return integer(UInt.self) as! T
        case is UInt8.Type: return integer(UInt8.self) as! T
        case is UInt16.Type: return integer(UInt16.self) as! T
        case is UInt32.Type: return integer(UInt32.self) as! T
        case is UInt64.Type: return integer(UInt64.self) as! T
        default: return try T(from: self)
        }
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let pairs: [(key: String, value: JSONTree)]
    let codingPath: [CodingKey]
    let state: DecodeState
    let phantom: Bool

    init(pairs: [(key: String, value: JSONTree)], path: [CodingKey], state: DecodeState, phantom: Bool) {
        self.pairs = pairs; self.codingPath = path; self.state = state; self.phantom = phantom
    }

    var pathComponents: [PathComponent] { components(codingPath) }

    var allKeys: [Key] {
        state.wildcard.insert(pathComponents)
        return pairs.compactMap { Key(stringValue: $0.key) }
    }

    func lookup(_ key: Key) -> JSONTree? {
        if !phantom { state.ask(pathComponents, key.stringValue) }
        return pairs.first { $0.key == key.stringValue }?.value
    }

    func contains(_ key: Key) -> Bool { lookup(key) != nil }

    func child(_ key: Key) throws -> TreeDecoder {
        guard let v = lookup(key) else {
            state.incomplete.insert(pathComponents)
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return TreeDecoder(value: v, path: codingPath + [key], state: state)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).value == .null }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let d = try child(key)
        do { return try d.decodeValue(type) } catch {
            state.incomplete.insert(pathComponents)
            throw error
        }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let v = lookup(key), v != .null else { return nil }
        return try decode(type, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
    func superDecoder() throws -> Decoder {
        TreeDecoder(value: pairs.first { $0.key == "super" }?.value ?? .null, path: codingPath, state: state)
    }
    func superDecoder(forKey key: Key) throws -> Decoder { try child(key) }
}

struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONTree]
    let codingPath: [CodingKey]
    let state: DecodeState
    var currentIndex = 0

    init(items: [JSONTree], codingPath: [CodingKey], state: DecodeState) {
        self.items = items; self.codingPath = codingPath; self.state = state
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func next() throws -> TreeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "array too short"))
        }
        defer { currentIndex += 1 }
        return TreeDecoder(value: items[currentIndex], path: codingPath + [IndexKey(currentIndex)], state: state)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next().decodeValue(type)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> Decoder { try next() }
}

struct SingleContainer: SingleValueDecodingContainer {
    let decoder: TreeDecoder
    var codingPath: [CodingKey] { decoder.codingPath }
    func decodeNil() -> Bool { decoder.value == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }
}
