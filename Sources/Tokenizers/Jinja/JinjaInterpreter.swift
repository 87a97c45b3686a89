// Renders a parsed Jinja template with Python/Jinja semantics: scopes (a for loop's `set`
// stays in the loop; `namespace` escapes it), `loop`, break/continue, macros, the globals
// transformers adds (raise_exception, strftime_now, namespace, range, dict). Filters, tests
// and methods live in JinjaBuiltins.swift; the caps on work and sizes in JinjaSandbox.swift.
// Leaves out autoescaping and jinja2's attribute checks (templates cannot reach Swift objects).
import Foundation

final class JinjaScope {
    var vars: [String: JinjaValue] = [:]
    let parent: JinjaScope?
    init(parent: JinjaScope?) { self.parent = parent }
    func lookup(_ n: String) -> JinjaValue? { vars[n] ?? parent?.lookup(n) }
}

/// The scopes that define a macro during one render. A macro's closure holds the scope it
/// was defined in, and that scope holds the macro: a reference cycle that would keep the
/// scope, the template and the whole context alive after the render. Emptying these scopes
/// when the render ends breaks every such cycle (nothing can call a macro after that).
final class JinjaMacroScopes {
    var scopes: [JinjaScope] = []
    func release() {
        for s in scopes { s.vars.removeAll() }
        scopes.removeAll()
    }
}

struct JinjaInterpreter {
    private enum Flow: Error { case breakLoop, continueLoop }
    /// Macro depth and work so far in this render (shared by the macro closures it creates).
    let budget = JinjaBudget()
    let macroScopes = JinjaMacroScopes()

    /// Renders `nodes` with `context` as the global variables.
    static func render(_ nodes: [JinjaNode], context: [String: JinjaValue]) throws -> String {
        let globals = JinjaScope(parent: nil)
        globals.vars = JinjaBuiltins.globals
        let top = JinjaScope(parent: globals)
        top.vars = context
        var out = ""
        let interpreter = JinjaInterpreter()
        defer { interpreter.macroScopes.release() }
        do {
            try interpreter.run(nodes, top, &out)
        } catch is Flow {
            throw TokenizerError.template("break/continue outside a loop")
        }
        return out
    }

    func run(_ nodes: [JinjaNode], _ scope: JinjaScope, _ out: inout String) throws {
        for n in nodes { try exec(n, scope, &out) }
    }

    func exec(_ node: JinjaNode, _ scope: JinjaScope, _ out: inout String) throws {
        switch node {
        case .text(let s): try Self.append(s, to: &out)
        case .output(let e): try Self.append(try JinjaSandbox.str(eval(e, scope), "{{ ... }}"), to: &out)
        case .generation(let body): try run(body, scope, &out)
        case .ifBlock(let branches, let elseBody):
            for (cond, body) in branches where try eval(cond, scope).truthy {
                try run(body, scope, &out)
                return
            }
            try run(elseBody, scope, &out)
        case .set(let targets, let attribute, let valueExpr):
            let value = try eval(valueExpr, scope)
            if let attribute {
                guard case .namespace(let ns) = scope.lookup(targets[0]) ?? .undefined else {
                    throw TokenizerError.template("cannot assign attribute on non-namespace '\(targets[0])'")
                }
                ns.values[attribute] = value
            } else if targets.count == 1 {
                scope.vars[targets[0]] = value
            } else {
                let items = try JinjaBuiltins.iterate(value)
                guard items.count == targets.count else { throw TokenizerError.template("cannot unpack \(items.count) values into \(targets.count)") }
                for (t, v) in zip(targets, items) { scope.vars[t] = v }
            }
        case .setBlock(let name, let body):
            var s = ""
            try run(body, scope, &s)
            scope.vars[name] = .string(s)
        case .macro(let name, let params, let body):
            let defScope = scope
            macroScopes.scopes.append(scope)
            scope.vars[name] = .function(JinjaFunction { args, kwargs in
                try self.budget.enter(name)
                defer { self.budget.leave() }
                try self.budget.spend(JinjaSandbox.stepsPerIteration, "a call of macro '\(name)'")
                let local = JinjaScope(parent: defScope)
                for (k, (pn, def)) in params.enumerated() {
                    if k < args.count { local.vars[pn] = args[k] }
                    else if let kv = kwargs.first(where: { $0.0 == pn }) { local.vars[pn] = kv.1 }
                    else if let def { local.vars[pn] = try self.eval(def, defScope) }
                    else { local.vars[pn] = .undefined }
                }
                var s = ""
                try self.run(body, local, &s)
                return .string(s)
            })
        case .loopBreak: throw Flow.breakLoop
        case .loopContinue: throw Flow.continueLoop
        case .forLoop(let targets, let iterableExpr, let filter, let body, let elseBody):
            var items = try JinjaBuiltins.iterate(try eval(iterableExpr, scope))
            let loopScope = JinjaScope(parent: scope)
            func bind(_ item: JinjaValue, in s: JinjaScope) throws {
                if targets.count == 1 { s.vars[targets[0]] = item; return }
                let parts = try JinjaBuiltins.iterate(item)
                guard parts.count == targets.count else { throw TokenizerError.template("cannot unpack \(parts.count) values into \(targets.count)") }
                for (t, v) in zip(targets, parts) { s.vars[t] = v }
            }
            if let filter {
                try budget.spend(items.count, "a filtered for loop")
                items = try items.filter { item in
                    let s = JinjaScope(parent: scope)
                    try bind(item, in: s)
                    return try eval(filter, s).truthy
                }
            }
            if items.isEmpty { try run(elseBody, scope, &out); return }
            let n = items.count
            for (k, item) in items.enumerated() {
                // One scope per loop, as Jinja: `set` inside persists across iterations but
                // not after the loop.
                try budget.spend(JinjaSandbox.stepsPerIteration, "a for loop iteration")
                try bind(item, in: loopScope)
                loopScope.vars["loop"] = .dict([
                    ("index", .int(k + 1)), ("index0", .int(k)), ("revindex", .int(n - k)), ("revindex0", .int(n - k - 1)),
                    ("first", .bool(k == 0)), ("last", .bool(k == n - 1)), ("length", .int(n)),
                    ("previtem", k > 0 ? items[k - 1] : .undefined), ("nextitem", k + 1 < n ? items[k + 1] : .undefined),
                    ("depth", .int(1)), ("depth0", .int(0)),
                    ("cycle", .function(JinjaFunction { args, _ in args.isEmpty ? .none : args[k % args.count] })),
                ])
                do {
                    try run(body, loopScope, &out)
                } catch Flow.breakLoop {
                    break
                } catch Flow.continueLoop {
                    continue
                }
            }
        }
    }

    /// Appends template output, refusing output past maxStringBytes before it is built.
    static func append(_ s: String, to out: inout String) throws {
        try JinjaSandbox.checkString(bytes: out.utf8.count + s.utf8.count, "the template output")
        out += s
    }

    /// Items a filter walks: one step each, n^2 for `unique` (it compares every pair).
    static func cost(of filter: String, on v: JinjaValue) -> Int {
        let n: Int
        switch v {
        case .list(let l): n = l.count
        case .dict(let d): n = d.count
        default: return 0
        }
        return filter == "unique" ? n.multipliedReportingOverflow(by: n).overflow ? Int.max / 2 : n * n : n
    }

    func eval(_ e: JinjaExpr, _ scope: JinjaScope) throws -> JinjaValue {
        switch e {
        case .literal(let v): return v
        case .name(let n): return scope.lookup(n) ?? .undefined
        case .list(let items): return .list(try items.map { try eval($0, scope) })
        case .tuple(let items): return .list(try items.map { try eval($0, scope) })
        case .dict(let items):
            var d: [(String, JinjaValue)] = []
            for (k, v) in items {
                let key = try eval(k, scope)
                guard case .string(let ks) = key else { throw TokenizerError.template("dict keys must be strings, got \(key.typeName)") }
                let value = try eval(v, scope)
                if let i = d.firstIndex(where: { $0.0 == ks }) { d[i].1 = value } else { d.append((ks, value)) }
            }
            return .dict(d)
        case .attr(let base, let name):
            let b = try eval(base, scope)
            if case .dict = b {
                let v = b[name]
                if case .undefined = v, let m = JinjaBuiltins.method(b, name) { return m }
                return v
            }
            if case .namespace = b { return b[name] }
            return JinjaBuiltins.method(b, name) ?? .undefined
        case .index(let base, let idx):
            let b = try eval(base, scope), i = try eval(idx, scope)
            switch (b, i) {
            case (.list(let l), .int(let k)):
                let j = k < 0 ? l.count + k : k
                return j >= 0 && j < l.count ? l[j] : .undefined
            case (.string(let s), .int(let k)):
                let u = Array(s.unicodeScalars)
                let j = k < 0 ? u.count + k : k
                return j >= 0 && j < u.count ? .string(String(u[j])) : .undefined
            case (.dict, .string(let k)), (.namespace, .string(let k)): return b[k]
            default: return .undefined
            }
        case .slice(let base, let lo, let hi, let step):
            let b = try eval(base, scope)
            func bound(_ x: JinjaExpr?) throws -> Int? {
                guard let x else { return nil }
                let v = try eval(x, scope)
                if case .none = v { return nil }
                guard case .int(let i) = v else { throw TokenizerError.template("slice indices must be integers") }
                return i
            }
            let l = try bound(lo), h = try bound(hi), st = try bound(step) ?? 1
            switch b {
            case .list(let items): return .list(JinjaBuiltins.slice(items, l, h, st))
            case .string(let s):
                var v = String.UnicodeScalarView()
                v.append(contentsOf: JinjaBuiltins.slice(Array(s.unicodeScalars), l, h, st))
                return .string(String(v))
            default: throw TokenizerError.template("cannot slice \(b.typeName)")
            }
        case .call(let fnExpr, let argExprs, let kwExprs):
            let fn = try eval(fnExpr, scope)
            guard case .function(let f) = fn else {
                if case .name(let n) = fnExpr { throw TokenizerError.template("unsupported Jinja function '\(n)'") }
                if case .attr(_, let n) = fnExpr { throw TokenizerError.template("unsupported method '\(n)'") }
                throw TokenizerError.template("\(fn.typeName) is not callable")
            }
            return try f.call(try argExprs.map { try eval($0, scope) }, try kwExprs.map { ($0.0, try eval($0.1, scope)) })
        case .filter(let base, let name, let argExprs, let kwExprs):
            let v = try eval(base, scope)
            try budget.spend(Self.cost(of: name, on: v), "filter '\(name)'")
            return try JinjaBuiltins.filter(name, v, try argExprs.map { try eval($0, scope) },
                                            try kwExprs.map { ($0.0, try eval($0.1, scope)) })
        case .test(let base, let name, let argExprs, let negated):
            let v = try eval(base, scope)
            let r = try JinjaBuiltins.test(name, v, try argExprs.map { try eval($0, scope) })
            return .bool(negated ? !r : r)
        case .unary(let op, let x):
            let v = try eval(x, scope)
            switch op {
            case "not": return .bool(!v.truthy)
            case "-":
                if case .int(let i) = v { return .int(try JinjaSandbox.checked(0.subtractingReportingOverflow(i), "-\(i)")) }
                if let d = v.number { return .double(-d) }
                throw TokenizerError.template("bad operand for unary -: \(v.typeName)")
            default: return v
            }
        case .binary(let op, let l, let r):
            if op == "and" { let a = try eval(l, scope); return a.truthy ? try eval(r, scope) : a }
            if op == "or" { let a = try eval(l, scope); return a.truthy ? a : try eval(r, scope) }
            let a = try eval(l, scope), b = try eval(r, scope)
            if op == "in" || op == "not in", case .list(let items) = b { try budget.spend(items.count, "'\(op)' on a list") }
            return try JinjaBuiltins.binary(op, a, b)
        case .conditional(let a, let cond, let otherwise):
            if try eval(cond, scope).truthy { return try eval(a, scope) }
            return try otherwise.map { try eval($0, scope) } ?? .undefined
        }
    }
}
