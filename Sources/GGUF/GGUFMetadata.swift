// GGUFMetadata: a GGUF file's key/value metadata with typed access whose errors name the
// file, the key and the type found. A value type, so a caller may override keys (tests
// do) before building a config or tokenizer from it.

public struct GGUFMetadata: Sendable, Equatable {
    /// The file the values came from, for error messages.
    public var file: String
    public var values: [String: GGUFValue]

    public init(file: String, values: [String: GGUFValue]) {
        self.file = file; self.values = values
    }

    public subscript(key: String) -> GGUFValue? {
        get { values[key] }
        set { values[key] = newValue }
    }

    public func string(_ key: String) throws(GGUFError) -> String? {
        guard let v = values[key] else { return nil }
        guard let s = v.string else { throw .metadata(file: file, key: key, detail: "must be a string, got \(v.typeName)") }
        return s
    }

    public func int(_ key: String) throws(GGUFError) -> Int? {
        guard let v = values[key] else { return nil }
        guard let n = v.int else { throw .metadata(file: file, key: key, detail: "must be an integer, got \(v.typeName)") }
        return n
    }

    public func requiredInt(_ key: String) throws(GGUFError) -> Int {
        guard let n = try int(key) else { throw .metadata(file: file, key: key, detail: "missing") }
        guard n > 0 else { throw .metadata(file: file, key: key, detail: "must be positive, got \(n)") }
        return n
    }

    public func double(_ key: String) throws(GGUFError) -> Double? {
        guard let v = values[key] else { return nil }
        guard let d = v.double else { throw .metadata(file: file, key: key, detail: "must be a number, got \(v.typeName)") }
        return d
    }

    public func bool(_ key: String) throws(GGUFError) -> Bool? {
        guard let v = values[key] else { return nil }
        guard let b = v.bool else { throw .metadata(file: file, key: key, detail: "must be a bool, got \(v.typeName)") }
        return b
    }

    public func stringArray(_ key: String) throws(GGUFError) -> [String]? {
        guard let v = values[key] else { return nil }
        guard case .array(.string, let items) = v else { throw .metadata(file: file, key: key, detail: "must be an array of strings, got \(v.typeName)") }
        return items.map { $0.string! }
    }

    public func intArray(_ key: String) throws(GGUFError) -> [Int]? {
        guard let v = values[key] else { return nil }
        guard let items = v.array, let ints = Optional(items.compactMap(\.int)), ints.count == items.count else {
            throw .metadata(file: file, key: key, detail: "must be an array of integers, got \(v.typeName)")
        }
        return ints
    }
}
