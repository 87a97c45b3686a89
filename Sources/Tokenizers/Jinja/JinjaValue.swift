// Values of the small Jinja interpreter used for chat templates: Python-like semantics for
// truthiness, equality, `str()` and `json.dumps` (what transformers' `tojson` calls), so
// rendered prompts are byte-identical. Leaves out sets, bytes, datetimes and user classes.
import Foundation

public indirect enum JinjaValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral,
    ExpressibleByFloatLiteral {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([JinjaValue])
    /// Ordered like a Python dict (insertion order), which `tojson` and `items` show.
    case dict([(String, JinjaValue)])
    /// `namespace(...)`: the one mutable object templates may assign attributes on.
    case namespace(JinjaNamespace)
    case function(JinjaFunction)

    public init(stringLiteral v: String) { self = .string(v) }
    public init(integerLiteral v: Int) { self = .int(v) }
    public init(booleanLiteral v: Bool) { self = .bool(v) }
    public init(floatLiteral v: Double) { self = .double(v) }
    public init(arrayLiteral v: JinjaValue...) { self = .list(v) }
    public init(dictionaryLiteral v: (String, JinjaValue)...) { self = .dict(v) }
    public init(nilLiteral: ()) { self = .none }

    /// From JSON (objects keep their key order).
    public init(_ j: JSONValue) {
        switch j {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(JinjaValue.init))
        case .object(let o): self = .dict(o.map { ($0.0, JinjaValue($0.1)) })
        }
    }

    public static func == (a: JinjaValue, b: JinjaValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.string(x), .string(y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case let (.list(x), .list(y)): return x == y
        case let (.dict(x), .dict(y)):
            return x.count == y.count && x.allSatisfy { kv in y.contains { $0.0 == kv.0 && $0.1 == kv.1 } }
        case let (.namespace(x), .namespace(y)): return x === y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// Python numbers (bools count as 0/1, as in Python).
    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace, .function: return true
        }
    }

    subscript(key: String) -> JinjaValue {
        switch self {
        case .dict(let d): return d.first { $0.0 == key }?.1 ?? .undefined
        case .namespace(let n): return n.values[key] ?? .undefined
        default: return .undefined
        }
    }

    var typeName: String {
        switch self {
        case .undefined: return "undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .function: return "function"
        }
    }

    /// Python `str(x)` (what `{{ x }}` prints); undefined prints as empty.
    var str: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr
        }
    }

    /// Python `repr(x)`.
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return JinjaValue.pythonFloat(d)
        case .string(let s): return JinjaValue.pythonStringRepr(s)
        case .list(let l): return "[" + l.map(\.repr).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.map { JinjaValue.pythonStringRepr($0.0) + ": " + $0.1.repr }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace \(n.values.keys.sorted())>"
        case .function: return "<function>"
        }
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
        if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
        // Swift's description is the shortest round-trip form, like Python's repr, except
        // for exponent spelling.
        var s = "\(d)"
        if let e = s.firstIndex(of: "e") {
            var exp = String(s[s.index(after: e)...])
            var sign = "+"
            if exp.hasPrefix("-") { sign = "-"; exp.removeFirst() } else if exp.hasPrefix("+") { exp.removeFirst() }
            if exp.count < 2 { exp = "0" + exp }
            s = String(s[..<e]) + "e" + sign + exp
        }
        return s
    }

    static func pythonStringRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(u) == quote { out += "\\" + String(quote) }
                else if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\x%02x", u.value) }
                else { out.unicodeScalars.append(u) }
            }
        }
        return out + String(quote)
    }

    /// Python `json.dumps(x, ensure_ascii=, indent=, separators=None, sort_keys=)`.
    func json(indent: Int?, ensureASCII: Bool = false, sortKeys: Bool = false, level: Int = 0) throws -> String {
        let itemSep = indent == nil ? ", " : ","
        func nl(_ l: Int) -> String { indent.map { "\n" + String(repeating: " ", count: $0 * l) } ?? "" }
        switch self {
        case .none, .undefined: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return JinjaValue.pythonFloat(d)
        case .string(let s): return JSONValue.quote(s, asciiOnly: ensureASCII)
        case .list(let l):
            if l.isEmpty { return "[]" }
            return "[" + nl(level + 1) + (try l.map { try $0.json(indent: indent, ensureASCII: ensureASCII, sortKeys: sortKeys, level: level + 1) })
                .joined(separator: itemSep + nl(level + 1)) + nl(level) + "]"
        case .dict(var d):
            if d.isEmpty { return "{}" }
            if sortKeys { d.sort { $0.0 < $1.0 } }
            return "{" + nl(level + 1) + (try d.map {
                JSONValue.quote($0.0, asciiOnly: ensureASCII) + ": " + (try $0.1.json(indent: indent, ensureASCII: ensureASCII, sortKeys: sortKeys, level: level + 1))
            }).joined(separator: itemSep + nl(level + 1)) + nl(level) + "}"
        case .namespace, .function:
            throw TokenizerError.template("Object of type \(typeName) is not JSON serializable")
        }
    }
}

/// The mutable object behind `namespace(...)`.
public final class JinjaNamespace: @unchecked Sendable {
    var values: [String: JinjaValue]
    init(_ v: [String: JinjaValue]) { values = v }
}

/// A callable: positional and keyword arguments in, a value out.
public struct JinjaFunction: @unchecked Sendable {
    let call: ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue
    /// A function a caller puts in the render context (positional and keyword arguments in).
    public init(call: @escaping ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue) { self.call = call }
}
