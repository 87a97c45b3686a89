// The syntax tree of a Jinja template, and the lexer that cuts template text into text,
// `{{ }}`, `{% %}` and `{# #}` pieces with the whitespace rules transformers renders with
// (trim_blocks, lstrip_blocks, `-` and `+` markers). Leaves out `{% raw %}` and line statements.

indirect enum JinjaExpr {
    case literal(JinjaValue)
    case name(String)
    case list([JinjaExpr])
    case tuple([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
    case attr(JinjaExpr, String)
    case index(JinjaExpr, JinjaExpr)
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, JinjaExpr?)
    case call(JinjaExpr, [JinjaExpr], [(String, JinjaExpr)])
    case filter(JinjaExpr, String, [JinjaExpr], [(String, JinjaExpr)])
    case test(JinjaExpr, String, [JinjaExpr], negated: Bool)
    case unary(String, JinjaExpr)
    case binary(String, JinjaExpr, JinjaExpr)
    case conditional(JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
}

indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpr)
    case forLoop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode], elseBody: [JinjaNode])
    case ifBlock([(JinjaExpr, [JinjaNode])], elseBody: [JinjaNode])
    case set(targets: [String], attribute: String?, value: JinjaExpr)
    case setBlock(name: String, body: [JinjaNode])
    case macro(name: String, params: [(String, JinjaExpr?)], body: [JinjaNode])
    case loopBreak
    case loopContinue
    /// transformers' `{% generation %}` marker: renders its body.
    case generation([JinjaNode])
}

/// A lexed piece of template source.
enum JinjaSegment {
    case text(String)
    case output(String)
    case statement(String)
}

enum JinjaLexer {
    private enum Kind { case output, statement, comment }
    private struct Tag { var kind: Kind; var body: String; var stripBefore: Bool; var keepBefore: Bool; var stripAfter: Bool; var keepAfter: Bool }

    static func segments(_ source: String) throws -> [JinjaSegment] {
        // As Jinja does: every newline sequence becomes "\n", and one trailing newline goes.
        var s: [Unicode.Scalar] = []
        let raw = Array(source.unicodeScalars)
        var r = 0
        while r < raw.count {
            if raw[r] == "\r" { s.append("\n"); if r + 1 < raw.count, raw[r + 1] == "\n" { r += 1 } } else { s.append(raw[r]) }
            r += 1
        }
        if s.last == "\n" { s.removeLast() }
        var texts: [String] = []
        var tags: [Tag] = []
        var i = 0
        var textStart = 0
        func str(_ a: Int, _ b: Int) -> String { var v = String.UnicodeScalarView(); v.append(contentsOf: s[a..<b]); return String(v) }
        while i < s.count {
            guard s[i] == "{", i + 1 < s.count, s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#" else { i += 1; continue }
            let kind: Kind = s[i + 1] == "{" ? .output : s[i + 1] == "%" ? .statement : .comment
            texts.append(str(textStart, i))
            var j = i + 2
            var tag = Tag(kind: kind, body: "", stripBefore: false, keepBefore: false, stripAfter: false, keepAfter: false)
            if j < s.count, s[j] == "-" { tag.stripBefore = true; j += 1 } else if j < s.count, s[j] == "+" { tag.keepBefore = true; j += 1 }
            let close: Unicode.Scalar = kind == .output ? "}" : kind == .statement ? "%" : "#"
            // Find the closing delimiter outside string literals.
            var k = j
            var quote: Unicode.Scalar? = nil
            var depth = 0  // open brackets: `}}` inside `{'a': {}}` does not close the tag (as Jinja)
            var found = -1
            while k + 1 < s.count {
                let c = s[k]
                if kind != .comment {
                    if let q = quote {
                        if c == "\\" { k += 2; continue }
                        if c == q { quote = nil }
                        k += 1; continue
                    }
                    if c == "'" || c == "\"" { quote = c; k += 1; continue }
                    if c == "{" || c == "(" || c == "[" { depth += 1 }
                    if depth > 0 && (c == ")" || c == "]" || (c == "}" && !(close == "}" && depth == 0))) { depth -= 1; k += 1; continue }
                }
                if depth == 0 && c == close && s[k + 1] == "}" { found = k; break }
                k += 1
            }
            guard found >= 0 else { throw TokenizerError.template("unclosed tag starting at character \(i)") }
            var bodyEnd = found
            if bodyEnd > j, s[bodyEnd - 1] == "-" { tag.stripAfter = true; bodyEnd -= 1 }
            else if bodyEnd > j, s[bodyEnd - 1] == "+" { tag.keepAfter = true; bodyEnd -= 1 }
            tag.body = str(j, bodyEnd)
            tags.append(tag)
            i = found + 2
            textStart = i
        }
        texts.append(str(textStart, s.count))
        // texts[k] precedes tags[k]; texts[k + 1] follows it.
        var lineStart = [Bool](repeating: false, count: texts.count)
        lineStart[0] = true
        for (k, tag) in tags.enumerated() {
            var after = texts[k + 1]
            if tag.stripAfter {
                after = String(after.unicodeScalars.drop { $0.properties.isWhitespace }.map(Character.init))
            } else if tag.kind != .output && !tag.keepAfter {
                // trim_blocks: the first newline after a block or comment tag goes.
                if after.unicodeScalars.first == "\n" {
                    after = String(String.UnicodeScalarView(after.unicodeScalars.dropFirst()))
                    lineStart[k + 1] = true
                }
            }
            texts[k + 1] = after
        }
        for (k, tag) in tags.enumerated() {
            var before = texts[k]
            if tag.stripBefore {
                var v = before.unicodeScalars
                while let l = v.last, l.properties.isWhitespace { v.removeLast() }
                before = String(v)
            } else if tag.kind != .output && !tag.keepBefore {
                // lstrip_blocks: spaces/tabs between the line start and a block tag go.
                let v = Array(before.unicodeScalars)
                var p = v.count
                while p > 0, v[p - 1] == " " || v[p - 1] == "\t" { p -= 1 }
                if (p > 0 && v[p - 1] == "\n") || (p == 0 && lineStart[k]) {
                    var w = String.UnicodeScalarView(); w.append(contentsOf: v[0..<p]); before = String(w)
                }
            }
            texts[k] = before
        }
        var out: [JinjaSegment] = []
        for k in 0..<texts.count {
            if !texts[k].isEmpty { out.append(.text(texts[k])) }
            if k < tags.count {
                switch tags[k].kind {
                case .output: out.append(.output(tags[k].body))
                case .statement: out.append(.statement(tags[k].body))
                case .comment: break
                }
            }
        }
        return out
    }
}
