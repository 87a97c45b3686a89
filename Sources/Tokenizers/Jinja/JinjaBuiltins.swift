// Jinja's filters, tests, operators and the Python string/dict methods chat templates call,
// with Python semantics. Anything not listed is a clear "unsupported" template error. Sizes
// they build are checked against JinjaSandbox's caps before building; integer overflow is an error.
// Leaves out: format strings (`%` on strings, `format`), regex filters, HTML escaping.
import Foundation

enum JinjaBuiltins {
    static func fn(_ f: @escaping ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue) -> JinjaValue {
        .function(JinjaFunction(call: f))
    }

    static let globals: [String: JinjaValue] = [
        "raise_exception": fn { args, _ in
            throw TokenizerError.templateException(try JinjaSandbox.str(args.first ?? .undefined, "raise_exception()"))
        },
        "namespace": fn { _, kw in
            var d: [String: JinjaValue] = [:]
            for (k, v) in kw { d[k] = v }
            return .namespace(JinjaNamespace(d))
        },
        "range": fn { args, _ in
            let n = args.compactMap { v -> Int? in if case .int(let i) = v { return i }; return nil }
            guard n.count == args.count, !n.isEmpty else { throw TokenizerError.template("range() takes integers") }
            let (lo, hi, st) = n.count == 1 ? (0, n[0], 1) : (n[0], n[1], n.count > 2 ? n[2] : 1)
            guard st != 0 else { throw TokenizerError.template("range() step must not be zero") }
            // Length as Python computes it, without wrapping: ceil((hi - lo) / st) when positive.
            let span = hi.subtractingReportingOverflow(lo)
            let sameSign = span.partialValue != 0 && (span.partialValue > 0) == (st > 0)
            let count = span.overflow ? Int.max : sameSign ? (span.partialValue - st.signum()) / st + 1 : 0
            guard count <= JinjaSandbox.maxRange else {
                let shown = span.overflow ? "more than 2^63" : String(count)
                throw JinjaSandbox.fail("range(\(n.map(String.init).joined(separator: ", "))) has \(shown) items, "
                    + "over maxRange (\(JinjaSandbox.maxRange))")
            }
            return .list(Swift.stride(from: lo, to: hi, by: st).map { .int($0) })
        },
        "dict": fn { _, kw in .dict(kw) },
        "strftime_now": fn { args, _ in .string(strftime(args.first?.str ?? "", Date())) },
    ]

    static func strftime(_ fmt: String, _ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        var out = ""
        var it = fmt.makeIterator()
        while let c = it.next() {
            guard c == "%", let d = it.next() else { out.append(c); continue }
            let pattern: String
            switch d {
            case "d": pattern = "dd"
            case "b": pattern = "MMM"
            case "B": pattern = "MMMM"
            case "m": pattern = "MM"
            case "Y": pattern = "yyyy"
            case "y": pattern = "yy"
            case "H": pattern = "HH"
            case "M": pattern = "mm"
            case "S": pattern = "ss"
            case "A": pattern = "EEEE"
            case "a": pattern = "EEE"
            case "%": out.append("%"); continue
            default: out.append("%"); out.append(d); continue
            }
            f.dateFormat = pattern
            out += f.string(from: date)
        }
        return out
    }

    static func iterate(_ v: JinjaValue) throws -> [JinjaValue] {
        switch v {
        case .list(let l): return l
        case .dict(let d): return d.map { .string($0.0) }
        case .string(let s):
            try JinjaSandbox.checkList(count: s.unicodeScalars.count, "iterating a string")
            return s.unicodeScalars.map { .string(String($0)) }
        case .undefined, .none: return []
        default: throw TokenizerError.template("'\(v.typeName)' object is not iterable")
        }
    }

    static func slice<T>(_ a: [T], _ lo: Int?, _ hi: Int?, _ step: Int) -> [T] {
        let n = a.count
        func norm(_ i: Int?, _ def: Int) -> Int {
            guard let i else { return def }
            let j = i < 0 ? i + n : i
            return step > 0 ? min(max(j, 0), n) : min(max(j, -1), n - 1)
        }
        var out: [T] = []
        if step > 0 {
            var i = norm(lo, 0)
            let e = norm(hi, n)
            while i < e { out.append(a[i]); let (j, o) = i.addingReportingOverflow(step); if o { break }; i = j }
        } else {
            var i = norm(lo, n - 1)
            let e = norm(hi, -1)
            while i > e { out.append(a[i]); let (j, o) = i.addingReportingOverflow(step); if o { break }; i = j }
        }
        return out
    }

    static func isSpace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace }

    /// Python `sep.join(str(x) for x in items)`, its length checked before it is built.
    static func join(_ items: [JinjaValue], separator: String) throws -> String {
        var parts: [String] = []
        parts.reserveCapacity(items.count)
        var bytes = 0
        for x in items {
            let p = try JinjaSandbox.str(x, "join")
            bytes += p.utf8.count + (parts.isEmpty ? 0 : separator.utf8.count)
            try JinjaSandbox.checkString(bytes: bytes, "join")
            parts.append(p)
        }
        return parts.joined(separator: separator)
    }

    /// Python `s.replace(old, new)`, its length computed (and checked) before it is built.
    static func replace(_ s: String, _ old: String, _ new: String) throws -> String {
        guard !old.isEmpty else { return s.replacingOccurrences(of: old, with: new) }
        if new.utf8.count > old.utf8.count {
            let hits = s.components(separatedBy: old).count - 1
            let growth = try JinjaSandbox.checked((new.utf8.count - old.utf8.count).multipliedReportingOverflow(by: hits), "replace")
            try JinjaSandbox.checkString(bytes: s.utf8.count + growth, "replace")
        }
        return s.replacingOccurrences(of: old, with: new)
    }

    static func strip(_ s: String, _ chars: JinjaValue?, left: Bool, right: Bool) -> String {
        let set: ((Unicode.Scalar) -> Bool)
        if let c = chars, case .string(let cs) = c { let all = Set(cs.unicodeScalars); set = { all.contains($0) } } else { set = isSpace }
        var v = Substring(s).unicodeScalars
        if left { while let f = v.first, set(f) { v.removeFirst() } }
        if right { while let l = v.last, set(l) { v.removeLast() } }
        return String(v)
    }

    /// Bound methods: `s.strip()`, `d.items()`, `d.get(k)` ...
    static func method(_ v: JinjaValue, _ name: String) -> JinjaValue? {
        switch v {
        case .string(let s):
            switch name {
            case "strip", "lstrip", "rstrip":
                return fn { a, _ in .string(strip(s, a.first, left: name != "rstrip", right: name != "lstrip")) }
            case "upper": return fn { _, _ in .string(s.uppercased()) }
            case "lower": return fn { _, _ in .string(s.lowercased()) }
            case "title": return fn { _, _ in .string(title(s)) }
            case "capitalize": return fn { _, _ in .string(s.prefix(1).uppercased() + s.dropFirst().lowercased()) }
            case "startswith", "endswith":
                return fn { a, _ in
                    let opts: [JinjaValue] = { if case .list(let l) = a.first ?? .none { return l }; return a.prefix(1).map { $0 } }()
                    return .bool(opts.contains { o in
                        let u = Array(s.unicodeScalars), p = Array(o.str.unicodeScalars)
                        return name == "startswith" ? u.starts(with: p) : u.reversed().starts(with: p.reversed())
                    })
                }
            case "split":
                return fn { a, _ in
                    if let sep = a.first, case .string(let sp) = sep {
                        return .list(s.components(separatedBy: sp).map { .string($0) })
                    }
                    return .list(s.unicodeScalars.split(whereSeparator: isSpace).map { .string(String(String.UnicodeScalarView($0))) })
                }
            case "replace":
                return fn { a, _ in
                    guard a.count >= 2 else { throw TokenizerError.template("replace() takes two arguments") }
                    return .string(try replace(s, try JinjaSandbox.str(a[0], "replace()"), try JinjaSandbox.str(a[1], "replace()")))
                }
            case "find":
                return fn { a, _ in
                    guard let r = s.range(of: a.first?.str ?? "") else { return .int(-1) }
                    return .int(s.unicodeScalars.distance(from: s.startIndex, to: r.lowerBound))
                }
            case "count": return fn { a, _ in .int(s.components(separatedBy: a.first?.str ?? "").count - 1) }
            case "join": return fn { a, _ in .string(try join(try iterate(a.first ?? .none), separator: s)) }
            case "isdigit": return fn { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal }) }
            default: return nil
            }
        case .dict(let d):
            switch name {
            case "items": return fn { _, _ in .list(d.map { .list([.string($0.0), $0.1]) }) }
            case "keys": return fn { _, _ in .list(d.map { .string($0.0) }) }
            case "values": return fn { _, _ in .list(d.map { $0.1 }) }
            case "get":
                return fn { a, _ in
                    guard let k = a.first else { return .none }
                    let v = JinjaValue.dict(d)[k.str]
                    if case .undefined = v { return a.count > 1 ? a[1] : .none }
                    return v
                }
            default: return nil
            }
        default: return nil
        }
    }

    static func title(_ s: String) -> String {
        var out = ""
        var prevCased = false
        for ch in s {
            let str = String(ch)
            out += prevCased ? str.lowercased() : str.uppercased()
            prevCased = ch.isLetter
        }
        return out
    }

    static func kw(_ kwargs: [(String, JinjaValue)], _ name: String) -> JinjaValue? { kwargs.first { $0.0 == name }?.1 }

    static func filter(_ name: String, _ v: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)]) throws -> JinjaValue {
        switch name {
        case "trim": return .string(strip(v.str, args.first ?? kw(kwargs, "chars"), left: true, right: true))
        case "length", "count":
            switch v {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let l): return .int(l.count)
            case .dict(let d): return .int(d.count)
            case .undefined: return .int(0)
            default: throw TokenizerError.template("object of type '\(v.typeName)' has no len()")
            }
        case "tojson":
            var indent: Int? = nil
            if let i = args.first ?? kw(kwargs, "indent"), case .int(let n) = i {
                // Each nesting level repeats the indent: bound it so the padding cannot outgrow the value.
                guard (0...64).contains(n) else { throw JinjaSandbox.fail("tojson indent \(n) outside 0...64") }
                indent = n
            }
            try JinjaSandbox.checkPrintable(v, "tojson")
            let ascii = kw(kwargs, "ensure_ascii")?.truthy ?? false
            let sortKeys = kw(kwargs, "sort_keys")?.truthy ?? false
            return .string(try v.json(indent: indent, ensureASCII: ascii, sortKeys: sortKeys))
        case "upper": return .string(v.str.uppercased())
        case "lower": return .string(v.str.lowercased())
        case "title": return .string(title(v.str))
        case "capitalize": let s = v.str; return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "string": return .string(v.str)
        case "safe": return v
        case "default", "d":
            let useFalsy = (args.count > 1 ? args[1] : kw(kwargs, "boolean") ?? .bool(false)).truthy
            if case .undefined = v { return args.first ?? .string("") }
            if useFalsy && !v.truthy { return args.first ?? .string("") }
            return v
        case "first": return try iterate(v).first ?? .undefined
        case "last": return try iterate(v).last ?? .undefined
        case "list": return .list(try iterate(v))
        case "reverse":
            if case .string(let s) = v { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .list(try iterate(v).reversed())
        case "join":
            let sep = args.first?.str ?? kw(kwargs, "d")?.str ?? ""
            var items = try iterate(v)
            if let attr = kw(kwargs, "attribute") { items = items.map { $0[attr.str] } }
            return .string(try join(items, separator: sep))
        case "items":
            guard case .dict(let d) = v else {
                if case .undefined = v { return .list([]) }
                throw TokenizerError.template("items filter needs a mapping, got \(v.typeName)")
            }
            return .list(d.map { .list([.string($0.0), $0.1]) })
        case "int":
            switch v {
            case .int: return v
            case .double(let d):
                guard let i = Int(exactly: d.rounded(.towardZero)) else {
                    throw TokenizerError.template("int(\(d)): out of the 64-bit range")
                }
                return .int(i)
            case .bool(let b): return .int(b ? 1 : 0)
            case .string(let s): return .int(Int(s.trimmingCharacters(in: .whitespaces)) ?? (args.first.flatMap { if case .int(let i) = $0 { return i }; return nil } ?? 0))
            default: return .int(0)
            }
        case "float":
            if let d = v.number { return .double(d) }
            if case .string(let s) = v, let d = Double(s.trimmingCharacters(in: .whitespaces)) { return .double(d) }
            return .double(0)
        case "abs":
            if case .int(let i) = v {
                guard i != .min else { throw TokenizerError.template("integer overflow in abs(\(i)) (integers are 64-bit here)") }
                return .int(abs(i))
            }
            return .double(abs(v.number ?? 0))
        case "replace":
            guard args.count >= 2 else { throw TokenizerError.template("replace filter takes two arguments") }
            return .string(try replace(try JinjaSandbox.str(v, "replace"), try JinjaSandbox.str(args[0], "replace"),
                                       try JinjaSandbox.str(args[1], "replace")))
        case "map":
            let items = try iterate(v)
            if let attr = kw(kwargs, "attribute") {
                let def = kw(kwargs, "default")
                return .list(items.map { let x = $0[attr.str]; if case .undefined = x, let def { return def }; return x })
            }
            guard let f = args.first else { throw TokenizerError.template("map filter needs a filter name or attribute=") }
            return .list(try items.map { try filter(f.str, $0, Array(args.dropFirst()), []) })
        case "select", "reject":
            let items = try iterate(v)
            return .list(try items.filter { item in
                let r = args.isEmpty ? item.truthy : try test(args[0].str, item, Array(args.dropFirst()))
                return name == "select" ? r : !r
            })
        case "selectattr", "rejectattr":
            guard let attr = args.first?.str else { throw TokenizerError.template("\(name) needs an attribute name") }
            let items = try iterate(v)
            return .list(try items.filter { item in
                let x = item[attr]
                let r = args.count > 1 ? try test(args[1].str, x, Array(args.dropFirst(2))) : x.truthy
                return name == "selectattr" ? r : !r
            })
        case "unique":
            var seen: [JinjaValue] = []
            for x in try iterate(v) where !seen.contains(x) { seen.append(x) }
            return .list(seen)
        case "indent":
            let width = args.first.flatMap { if case .int(let i) = $0 { return i }; return nil } ?? 4
            let first = (args.count > 1 ? args[1] : kw(kwargs, "first") ?? .bool(false)).truthy
            let text = try JinjaSandbox.str(v, "indent")
            let lines = text.components(separatedBy: "\n")
            let padBytes = try JinjaSandbox.checked(max(0, width).multipliedReportingOverflow(by: lines.count), "indent width x lines")
            try JinjaSandbox.checkString(bytes: text.utf8.count + padBytes, "indent(\(width))")
            let pad = String(repeating: " ", count: max(0, width))
            return .string(lines.enumerated().map { i, l in (i == 0 && !first) || l.isEmpty ? l : pad + l }.joined(separator: "\n"))
        case "sum":
            var acc: JinjaValue = .int(0)
            for x in try iterate(v) { acc = try binary("+", acc, x) }
            return acc
        case "dictsort":
            guard case .dict(let d) = v else { throw TokenizerError.template("dictsort needs a mapping") }
            return .list(d.sorted { $0.0.lowercased() < $1.0.lowercased() }.map { .list([.string($0.0), $0.1]) })
        case "wordcount": return .int(v.str.split(whereSeparator: { $0.isWhitespace }).count)
        default:
            throw TokenizerError.template("unsupported Jinja filter '\(name)'")
        }
    }

    static func test(_ name: String, _ v: JinjaValue, _ args: [JinjaValue]) throws -> Bool {
        switch name {
        case "defined": if case .undefined = v { return false }; return true
        case "undefined": if case .undefined = v { return true }; return false
        case "none": if case .none = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "true": return v == .bool(true) && { if case .bool = v { return true }; return false }()
        case "false": return v == .bool(false) && { if case .bool = v { return true }; return false }()
        case "string": if case .string = v { return true }; return false
        case "number": switch v { case .int, .double: return true; default: return false }
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "mapping": switch v { case .dict: return true; default: return false }
        case "iterable": switch v { case .list, .dict, .string: return true; default: return false }
        case "sequence": switch v { case .list, .dict, .string: return true; default: return false }
        case "callable": if case .function = v { return true }; return false
        case "equalto", "eq", "==", "sameas": return v == (args.first ?? .undefined)
        case "ne", "!=": return v != (args.first ?? .undefined)
        case "in": return try binary("in", v, args.first ?? .none).truthy
        case "odd", "even":
            guard case .int(let i) = v else { throw TokenizerError.template("\(name) test needs an integer") }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard case .int(let i) = v, case .int(let d)? = args.first, d != 0 else { throw TokenizerError.template("divisibleby needs integers") }
            return i.remainderReportingOverflow(dividingBy: d).partialValue == 0
        case "lower": return v.str == v.str.lowercased()
        case "upper": return v.str == v.str.uppercased()
        case "gt", ">": return try binary(">", v, args.first ?? .none).truthy
        case "ge", ">=": return try binary(">=", v, args.first ?? .none).truthy
        case "lt", "<": return try binary("<", v, args.first ?? .none).truthy
        case "le", "<=": return try binary("<=", v, args.first ?? .none).truthy
        default: throw TokenizerError.template("unsupported Jinja test '\(name)'")
        }
    }

    static func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
        switch op {
        case "==": return .bool(a == b)
        case "!=": return .bool(a != b)
        case "~":
            let x = try JinjaSandbox.str(a, "'~'"), y = try JinjaSandbox.str(b, "'~'")
            try JinjaSandbox.checkString(bytes: x.utf8.count + y.utf8.count, "'~'")
            return .string(x + y)
        case "in", "not in":
            let r: Bool
            switch b {
            case .string(let s):
                let needle = try JinjaSandbox.str(a, "'in'")
                r = needle.isEmpty || s.contains(needle) && { if case .string = a { return true }; return false }()
            case .list(let l): r = l.contains(a)
            case .dict(let d): r = d.contains { $0.0 == a.str } && { if case .string = a { return true }; return false }()
            case .namespace(let n): r = n.values[a.str] != nil
            case .undefined, .none: throw TokenizerError.template("argument of type '\(b.typeName)' is not iterable")
            default: throw TokenizerError.template("argument of type '\(b.typeName)' is not iterable")
            }
            return .bool(op == "in" ? r : !r)
        case "<", "<=", ">", ">=":
            let c: Int
            if let x = a.number, let y = b.number { c = x < y ? -1 : x > y ? 1 : 0 }
            else if case .string(let x) = a, case .string(let y) = b {
                let xs = Array(x.unicodeScalars.map(\.value)), ys = Array(y.unicodeScalars.map(\.value))
                c = xs.lexicographicallyPrecedes(ys) ? -1 : xs == ys ? 0 : 1
            } else { throw TokenizerError.template("'\(op)' not supported between \(a.typeName) and \(b.typeName)") }
            switch op {
            case "<": return .bool(c < 0)
            case "<=": return .bool(c <= 0)
            case ">": return .bool(c > 0)
            default: return .bool(c >= 0)
            }
        case "+":
            switch (a, b) {
            case let (.string(x), .string(y)):
                try JinjaSandbox.checkString(bytes: x.utf8.count + y.utf8.count, "'+'")
                return .string(x + y)
            case let (.list(x), .list(y)):
                try JinjaSandbox.checkList(count: x.count + y.count, "'+'")
                return .list(x + y)
            case let (.int(x), .int(y)): return .int(try JinjaSandbox.checked(x.addingReportingOverflow(y), "\(x) + \(y)"))
            default:
                if let x = a.number, let y = b.number, !(a.isUndefined || b.isUndefined) { return .double(x + y) }
                throw TokenizerError.template("unsupported operand types for +: '\(a.typeName)' and '\(b.typeName)'")
            }
        case "-", "*", "/", "//", "%", "**":
            if op == "*", case .string(let s) = a, case .int(let n) = b {
                let (bytes, o) = s.utf8.count.multipliedReportingOverflow(by: max(0, n))
                try JinjaSandbox.checkString(bytes: o ? Int.max : bytes, "'*' on a string")
                return .string(String(repeating: s, count: max(0, n)))
            }
            if op == "*", case .list(let l) = a, case .int(let n) = b {
                let (count, o) = l.count.multipliedReportingOverflow(by: max(0, n))
                try JinjaSandbox.checkList(count: o ? Int.max : count, "'*' on a list")
                return .list(Array([[JinjaValue]](repeating: l, count: max(0, n)).joined()))
            }
            if case .int(let x) = a, case .int(let y) = b, op != "/" {
                switch op {
                case "-": return .int(try JinjaSandbox.checked(x.subtractingReportingOverflow(y), "\(x) - \(y)"))
                case "*": return .int(try JinjaSandbox.checked(x.multipliedReportingOverflow(by: y), "\(x) * \(y)"))
                case "//", "%":
                    guard y != 0 else { throw TokenizerError.template("integer division or modulo by zero") }
                    // Python floors toward negative infinity.
                    var q = try JinjaSandbox.checked(x.dividedReportingOverflow(by: y), "\(x) // \(y)")
                    if (x % y != 0) && ((x < 0) != (y < 0)) { q -= 1 }
                    return op == "//" ? .int(q) : .int(x - q * y)
                default:
                    // Python: a negative exponent gives a float; otherwise exact, here checked.
                    if y < 0 { return .double(Foundation.pow(Double(x), Double(y))) }
                    var result = 1, base = x, e = y
                    while e > 0 {
                        if e & 1 == 1 { result = try JinjaSandbox.checked(result.multipliedReportingOverflow(by: base), "\(x) ** \(y)") }
                        e >>= 1
                        if e > 0 { base = try JinjaSandbox.checked(base.multipliedReportingOverflow(by: base), "\(x) ** \(y)") }
                    }
                    return .int(result)
                }
            }
            guard let x = a.number, let y = b.number else {
                throw TokenizerError.template("unsupported operand types for \(op): '\(a.typeName)' and '\(b.typeName)'")
            }
            switch op {
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/":
                guard y != 0 else { throw TokenizerError.template("division by zero") }
                return .double(x / y)
            case "//": return .double((x / y).rounded(.down))
            case "%": return .double(x - y * (x / y).rounded(.down))
            default: return .double(Foundation.pow(x, y))
            }
        default:
            throw TokenizerError.template("unsupported operator '\(op)'")
        }
    }
}

extension JinjaValue {
    var isUndefined: Bool { if case .undefined = self { return true }; return false }
}
