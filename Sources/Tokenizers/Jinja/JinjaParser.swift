// Parses lexed Jinja segments into `JinjaNode`s: for/if/elif/else/set/macro/break/continue/
// generation statements and the full Jinja expression grammar (precedence as in Jinja's own
// parser: filters and tests bind tighter than arithmetic). Unknown tags are clear errors.
// Leaves out: include/import/extends/block/call/filter blocks and `{% raw %}`.

struct JinjaToken: Equatable {
    enum Kind: Equatable { case name, string, int, double, op }
    var kind: Kind
    var text: String
}

enum JinjaTokenizer {
    static let ops = ["==", "!=", "<=", ">=", "//", "**", "<", ">", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":",
                      "(", ")", "[", "]", "{", "}", "="]

    static func tokens(_ src: String) throws -> [JinjaToken] {
        let s = Array(src.unicodeScalars)
        var out: [JinjaToken] = []
        var i = 0
        func str(_ a: Int, _ b: Int) -> String { var v = String.UnicodeScalarView(); v.append(contentsOf: s[a..<b]); return String(v) }
        while i < s.count {
            let c = s[i]
            if c.properties.isWhitespace { i += 1; continue }
            if c == "_" || c.properties.isAlphabetic {
                var j = i
                while j < s.count, s[j] == "_" || s[j].properties.isAlphabetic || s[j].properties.numericType == .decimal { j += 1 }
                out.append(JinjaToken(kind: .name, text: str(i, j))); i = j; continue
            }
            if c.properties.numericType == .decimal {
                var j = i
                var isDouble = false
                while j < s.count, s[j].properties.numericType == .decimal || s[j] == "_" { j += 1 }
                if j + 1 < s.count, s[j] == ".", s[j + 1].properties.numericType == .decimal {
                    isDouble = true; j += 1
                    while j < s.count, s[j].properties.numericType == .decimal { j += 1 }
                }
                out.append(JinjaToken(kind: isDouble ? .double : .int, text: str(i, j).replacingOccurrences(of: "_", with: ""))); i = j; continue
            }
            if c == "'" || c == "\"" {
                var j = i + 1
                var v = String.UnicodeScalarView()
                while j < s.count, s[j] != c {
                    if s[j] == "\\", j + 1 < s.count {
                        j += 1
                        switch s[j] {
                        case "n": v.append("\n")
                        case "t": v.append("\t")
                        case "r": v.append("\r")
                        case "\\", "'", "\"": v.append(s[j])
                        default: v.append("\\"); v.append(s[j])
                        }
                    } else {
                        v.append(s[j])
                    }
                    j += 1
                }
                guard j < s.count else { throw TokenizerError.template("unterminated string literal") }
                out.append(JinjaToken(kind: .string, text: String(v))); i = j + 1; continue
            }
            var matched = false
            for op in ops {
                let o = Array(op.unicodeScalars)
                if i + o.count <= s.count, Array(s[i..<(i + o.count)]) == o {
                    out.append(JinjaToken(kind: .op, text: op)); i += o.count; matched = true; break
                }
            }
            if !matched { throw TokenizerError.template("unexpected character '\(c)' in tag") }
        }
        return out
    }
}

/// Expression parser over one tag's tokens.
struct JinjaExprParser {
    var t: [JinjaToken]
    var p = 0
    /// Recursion depth of the descent, capped at JinjaSandbox.maxNesting (the parser recurses).
    var depth = 0

    mutating func nest() throws {
        depth += 1
        guard depth <= JinjaSandbox.maxNesting else {
            throw JinjaSandbox.fail("expression nested deeper than maxNesting (\(JinjaSandbox.maxNesting))")
        }
    }

    init(_ src: String) throws { t = try JinjaTokenizer.tokens(src) }

    var atEnd: Bool { p >= t.count }
    func peek(_ k: Int = 0) -> JinjaToken? { p + k < t.count ? t[p + k] : nil }
    func isOp(_ s: String) -> Bool { peek().map { $0.kind == .op && $0.text == s } ?? false }
    func isName(_ s: String) -> Bool { peek().map { $0.kind == .name && $0.text == s } ?? false }
    mutating func next() throws -> JinjaToken {
        guard p < t.count else { throw TokenizerError.template("unexpected end of expression") }
        p += 1
        return t[p - 1]
    }
    mutating func expectOp(_ s: String) throws {
        guard isOp(s) else { throw TokenizerError.template("expected '\(s)' but found '\(peek()?.text ?? "end")'") }
        p += 1
    }
    mutating func expectName() throws -> String {
        let tok = try next()
        guard tok.kind == .name else { throw TokenizerError.template("expected a name, found '\(tok.text)'") }
        return tok.text
    }
    func finish() throws {
        if let tok = peek() { throw TokenizerError.template("unexpected '\(tok.text)' at end of tag") }
    }

    /// Top level: conditional expression, or an unparenthesised tuple when allowed.
    mutating func expression(allowTuple: Bool = false) throws -> JinjaExpr {
        try nest()
        defer { depth -= 1 }
        let first = try conditional()
        guard allowTuple, isOp(",") else { return first }
        var items = [first]
        while isOp(",") { p += 1; if atEnd { break }; items.append(try conditional()) }
        return .tuple(items)
    }

    mutating func conditional() throws -> JinjaExpr {
        let e = try orExpr()
        if isName("if") {
            p += 1
            let cond = try orExpr()
            var otherwise: JinjaExpr? = nil
            if isName("else") { p += 1; otherwise = try conditional() }
            return .conditional(e, condition: cond, otherwise: otherwise)
        }
        return e
    }

    mutating func orExpr() throws -> JinjaExpr {
        var e = try andExpr()
        while isName("or") { p += 1; e = .binary("or", e, try andExpr()) }
        return e
    }
    mutating func andExpr() throws -> JinjaExpr {
        var e = try notExpr()
        while isName("and") { p += 1; e = .binary("and", e, try notExpr()) }
        return e
    }
    mutating func notExpr() throws -> JinjaExpr {
        if isName("not") {
            p += 1
            try nest()
            defer { depth -= 1 }
            return .unary("not", try notExpr())
        }
        return try compare()
    }
    mutating func compare() throws -> JinjaExpr {
        var e = try math1()
        while true {
            if let tok = peek(), tok.kind == .op, ["==", "!=", "<", "<=", ">", ">="].contains(tok.text) {
                p += 1; e = .binary(tok.text, e, try math1())
            } else if isName("in") {
                p += 1; e = .binary("in", e, try math1())
            } else if isName("not"), let n = peek(1), n.kind == .name, n.text == "in" {
                p += 2; e = .binary("not in", e, try math1())
            } else {
                return e
            }
        }
    }
    mutating func math1() throws -> JinjaExpr {
        var e = try concat()
        while isOp("+") || isOp("-") { let op = try next().text; e = .binary(op, e, try concat()) }
        return e
    }
    mutating func concat() throws -> JinjaExpr {
        var e = try math2()
        while isOp("~") { p += 1; e = .binary("~", e, try math2()) }
        return e
    }
    mutating func math2() throws -> JinjaExpr {
        var e = try pow()
        while isOp("*") || isOp("/") || isOp("//") || isOp("%") { let op = try next().text; e = .binary(op, e, try pow()) }
        return e
    }
    mutating func pow() throws -> JinjaExpr {
        var e = try unary()
        while isOp("**") { p += 1; e = .binary("**", e, try unary()) }
        return e
    }
    mutating func unary() throws -> JinjaExpr {
        try nest()
        defer { depth -= 1 }
        if isOp("-") { p += 1; return try filterOrTest(.unary("-", try unary())) }
        if isOp("+") { p += 1; return try filterOrTest(.unary("+", try unary())) }
        return try filterOrTest(try postfix(try primary()))
    }

    mutating func filterOrTest(_ base: JinjaExpr) throws -> JinjaExpr {
        var e = base
        while true {
            if isOp("|") {
                p += 1
                var name = try expectName()
                while isOp(".") { p += 1; name += "." + (try expectName()) }
                var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
                if isOp("(") { (args, kwargs) = try callArgs() }
                e = .filter(e, name, args, kwargs)
            } else if isName("is") {
                p += 1
                var negated = false
                if isName("not") { p += 1; negated = true }
                let name = try expectName()
                var args: [JinjaExpr] = []
                if isOp("(") {
                    args = try callArgs().0
                } else if let tok = peek(), tok.kind != .op || tok.text == "[" || tok.text == "(" || tok.text == "{" || tok.text == "-",
                          !(tok.kind == .name && ["and", "or", "else", "if", "in", "not", "is"].contains(tok.text)) {
                    // `x is divisibleby 3`, `x is equalto 'a'`: one argument without parentheses.
                    args = [try postfix(try primary())]
                }
                e = .test(e, name, args, negated: negated)
            } else {
                return e
            }
        }
    }

    mutating func callArgs() throws -> ([JinjaExpr], [(String, JinjaExpr)]) {
        try expectOp("(")
        var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
        while !isOp(")") {
            if let tok = peek(), tok.kind == .name, let eq = peek(1), eq.kind == .op, eq.text == "=" {
                p += 2
                kwargs.append((tok.text, try expression()))
            } else {
                args.append(try expression())
            }
            if isOp(",") { p += 1 } else { break }
        }
        try expectOp(")")
        return (args, kwargs)
    }

    mutating func postfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var e = base
        while true {
            if isOp(".") {
                p += 1
                let tok = try next()
                guard tok.kind == .name || tok.kind == .int else { throw TokenizerError.template("bad attribute '\(tok.text)'") }
                e = tok.kind == .int ? .index(e, .literal(.int(Int(tok.text) ?? 0))) : .attr(e, tok.text)
            } else if isOp("[") {
                p += 1
                var parts: [JinjaExpr?] = [nil]
                var isSlice = false
                while !isOp("]") {
                    if isOp(":") { p += 1; parts.append(nil); isSlice = true; continue }
                    parts[parts.count - 1] = try expression()
                }
                try expectOp("]")
                if isSlice {
                    guard parts.count <= 3 else { throw TokenizerError.template("bad slice") }
                    e = .slice(e, parts[0], parts.count > 1 ? parts[1] : nil, parts.count > 2 ? parts[2] : nil)
                } else {
                    guard let idx = parts[0] else { throw TokenizerError.template("empty subscript") }
                    e = .index(e, idx)
                }
            } else if isOp("(") {
                let (a, k) = try callArgs()
                e = .call(e, a, k)
            } else {
                return e
            }
        }
    }

    mutating func primary() throws -> JinjaExpr {
        let tok = try next()
        switch tok.kind {
        case .string:
            var s = tok.text
            // Adjacent string literals concatenate.
            while let n = peek(), n.kind == .string { s += n.text; p += 1 }
            return .literal(.string(s))
        case .int:
            guard let i = Int(tok.text) else { throw TokenizerError.template("integer literal \(tok.text) does not fit in 64 bits") }
            return .literal(.int(i))
        case .double: return .literal(.double(Double(tok.text) ?? 0))
        case .name:
            switch tok.text {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(tok.text)
            }
        case .op:
            switch tok.text {
            case "(":
                if isOp(")") { p += 1; return .tuple([]) }
                let e = try expression()
                if isOp(",") {
                    var items = [e]
                    while isOp(",") { p += 1; if isOp(")") { break }; items.append(try expression()) }
                    try expectOp(")")
                    return .tuple(items)
                }
                try expectOp(")")
                return e
            case "[":
                var items: [JinjaExpr] = []
                while !isOp("]") { items.append(try expression()); if isOp(",") { p += 1 } else { break } }
                try expectOp("]")
                return .list(items)
            case "{":
                var items: [(JinjaExpr, JinjaExpr)] = []
                while !isOp("}") {
                    let k = try expression()
                    try expectOp(":")
                    items.append((k, try expression()))
                    if isOp(",") { p += 1 } else { break }
                }
                try expectOp("}")
                return .dict(items)
            default:
                throw TokenizerError.template("unexpected '\(tok.text)'")
            }
        }
    }
}

/// Builds the node tree from segments.
struct JinjaParser {
    let segs: [JinjaSegment]
    var i = 0
    /// Open blocks, capped at JinjaSandbox.maxNesting (parsing and rendering recurse per block).
    var depth = 0

    static func parse(_ source: String) throws -> [JinjaNode] {
        var p = JinjaParser(segs: try JinjaLexer.segments(source))
        let (nodes, end) = try p.block(until: [])
        if let end { throw TokenizerError.template("unexpected {% \(end) %}") }
        return nodes
    }

    /// Parses nodes until a statement whose first word is in `until`; returns that statement.
    mutating func block(until: Set<String>) throws -> ([JinjaNode], String?) {
        depth += 1
        defer { depth -= 1 }
        guard depth <= JinjaSandbox.maxNesting else {
            throw JinjaSandbox.fail("blocks nested deeper than maxNesting (\(JinjaSandbox.maxNesting))")
        }
        var nodes: [JinjaNode] = []
        while i < segs.count {
            let seg = segs[i]
            i += 1
            switch seg {
            case .text(let s): nodes.append(.text(s))
            case .output(let src):
                var ep = try JinjaExprParser(src)
                let e = try ep.expression(allowTuple: true)
                try ep.finish()
                nodes.append(.output(e))
            case .statement(let src):
                var ep = try JinjaExprParser(src)
                let word = try ep.expectName()
                if until.contains(word) {
                    i -= 1
                    return (nodes, word)
                }
                nodes.append(try statement(word, &ep))
            }
        }
        return (nodes, nil)
    }

    /// The statement text of segment `i` (a closing or middle tag), consumed.
    mutating func take(_ expected: Set<String>) throws -> (String, JinjaExprParser) {
        guard i < segs.count, case .statement(let src) = segs[i] else {
            throw TokenizerError.template("missing {% \(expected.sorted().joined(separator: " / ")) %}")
        }
        i += 1
        var ep = try JinjaExprParser(src)
        let word = try ep.expectName()
        return (word, ep)
    }

    mutating func statement(_ word: String, _ ep: inout JinjaExprParser) throws -> JinjaNode {
        switch word {
        case "for":
            var targets = [try ep.expectName()]
            while ep.isOp(",") { ep.p += 1; targets.append(try ep.expectName()) }
            guard ep.isName("in") else { throw TokenizerError.template("expected 'in' in for loop") }
            ep.p += 1
            let iterable = try ep.orExpr()
            var filter: JinjaExpr? = nil
            if ep.isName("if") { ep.p += 1; filter = try ep.expression() }
            if ep.isName("recursive") { throw TokenizerError.template("unsupported Jinja: recursive loops") }
            try ep.finish()
            let (body, end) = try block(until: ["else", "endfor"])
            var elseBody: [JinjaNode] = []
            var (w, closing) = try take(["endfor"])
            try closing.finish()
            if end == "else" || w == "else" {
                let (eb, _) = try block(until: ["endfor"])
                elseBody = eb
                (w, closing) = try take(["endfor"])
                try closing.finish()
            }
            return .forLoop(targets: targets, iterable: iterable, filter: filter, body: body, elseBody: elseBody)
        case "if":
            var branches: [(JinjaExpr, [JinjaNode])] = []
            var cond = try ep.expression()
            try ep.finish()
            var elseBody: [JinjaNode] = []
            while true {
                let (body, _) = try block(until: ["elif", "else", "endif"])
                branches.append((cond, body))
                var (w, closing) = try take(["endif"])
                if w == "elif" { cond = try closing.expression(); try closing.finish(); continue }
                try closing.finish()
                if w == "else" {
                    let (eb, _) = try block(until: ["endif"])
                    elseBody = eb
                    var (_, c2) = try take(["endif"])
                    try c2.finish()
                }
                break
            }
            return .ifBlock(branches, elseBody: elseBody)
        case "set":
            var targets = [try ep.expectName()]
            var attribute: String? = nil
            if ep.isOp(".") { ep.p += 1; attribute = try ep.expectName() }
            while ep.isOp(",") { ep.p += 1; targets.append(try ep.expectName()) }
            if ep.atEnd {
                guard targets.count == 1, attribute == nil else { throw TokenizerError.template("bad block set") }
                let (body, _) = try block(until: ["endset"])
                var (_, c) = try take(["endset"])
                try c.finish()
                return .setBlock(name: targets[0], body: body)
            }
            try ep.expectOp("=")
            let value = try ep.expression(allowTuple: true)
            try ep.finish()
            return .set(targets: targets, attribute: attribute, value: value)
        case "macro":
            let name = try ep.expectName()
            try ep.expectOp("(")
            var params: [(String, JinjaExpr?)] = []
            while !ep.isOp(")") {
                let pn = try ep.expectName()
                var def: JinjaExpr? = nil
                if ep.isOp("=") { ep.p += 1; def = try ep.expression() }
                params.append((pn, def))
                if ep.isOp(",") { ep.p += 1 } else { break }
            }
            try ep.expectOp(")")
            try ep.finish()
            let (body, _) = try block(until: ["endmacro"])
            var (_, c) = try take(["endmacro"])
            try c.finish()
            return .macro(name: name, params: params, body: body)
        case "break": try ep.finish(); return .loopBreak
        case "continue": try ep.finish(); return .loopContinue
        case "generation":
            try ep.finish()
            let (body, _) = try block(until: ["endgeneration"])
            var (_, c) = try take(["endgeneration"])
            try c.finish()
            return .generation(body)
        default:
            throw TokenizerError.template("unsupported Jinja statement '\(word)'")
        }
    }
}
