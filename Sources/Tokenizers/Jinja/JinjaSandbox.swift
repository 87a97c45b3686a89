// JinjaSandbox: the limits that keep a chat template — code that arrives inside a model file —
// from hanging or exhausting memory: caps on range() length, macro call depth, parser nesting,
// work per render (loop iterations, macro calls, items visited by filters) and the size of any
// string or list a template builds. Integer overflow is an error too. Each cap is a
// `TokenizerError.template` naming it. Leaves out wall-clock timeouts and jinja2's attribute
// allow-list (templates here reach only JinjaValues, never Swift objects).

/// The caps. transformers renders chat templates in jinja2's `ImmutableSandboxedEnvironment`,
/// whose only size cap is `MAX_RANGE` (100 000, kept here); recursion is bounded there by
/// Python's recursion limit and memory by the host. We bound both explicitly:
/// - `maxRange` 100 000 items per `range()`: jinja2's MAX_RANGE.
/// - `maxCallDepth` 64 nested macro calls: real templates nest 2-3 deep; 64 keeps the
///   interpreter's Swift stack far from its limit on any thread.
/// - `maxNesting` 200 brackets/operators/blocks nested in the source: the parser recurses.
/// - `maxSteps` 10 000 000 units of work per render: `stepsPerIteration` (16) per loop
///   iteration or macro call, one per item a filter or `in` walks (a comparison costs about
///   1/16 of an iteration). About 2 s of rendering at most; a 10 000-message conversation
///   with tools costs well under 10^6.
/// - `maxStringBytes` 16 MiB (UTF-8) for any string built, the output included; a 1M-token
///   context is about 4 MiB of text.
/// - `maxListCount` 1 000 000 items in any list built (list `*`, `+`, iterating a string).
public enum JinjaSandbox {
    public static let maxRange = 100_000
    public static let maxCallDepth = 64
    public static let maxNesting = 200
    public static let maxSteps = 10_000_000
    public static let stepsPerIteration = 16
    public static let maxStringBytes = 16 << 20
    public static let maxListCount = 1_000_000

    static func fail(_ what: String) -> TokenizerError { .template("sandbox: \(what)") }

    /// A string of `bytes` UTF-8 bytes about to be built by `what`.
    static func checkString(bytes: Int, _ what: @autoclosure () -> String) throws {
        guard bytes <= maxStringBytes else {
            throw fail("\(what()) would build a string of \(bytes) bytes, over maxStringBytes (\(maxStringBytes))")
        }
    }

    /// A list of `count` items about to be built by `what`.
    static func checkList(count: Int, _ what: @autoclosure () -> String) throws {
        guard count <= maxListCount else {
            throw fail("\(what()) would build a list of \(count) items, over maxListCount (\(maxListCount))")
        }
    }

    /// `a op b` on counts, as an error instead of a wrap when it overflows.
    static func checked(_ r: (partialValue: Int, overflow: Bool), _ what: @autoclosure () -> String) throws -> Int {
        guard !r.overflow else { throw TokenizerError.template("integer overflow in \(what()) (integers are 64-bit here)") }
        return r.partialValue
    }

    /// `x.str`, refused before it is built when `x` would print longer than maxStringBytes.
    /// Lists and dicts share their items, so a small value can print as terabytes.
    static func str(_ x: JinjaValue, _ what: @autoclosure () -> String) throws -> String {
        if case .string(let s) = x { return s }
        try checkPrintable(x, what())
        return x.str
    }

    /// Refuses a list or dict that would print longer than maxStringBytes.
    static func checkPrintable(_ x: JinjaValue, _ what: @autoclosure () -> String) throws {
        switch x {
        case .list, .dict: try checkString(bytes: printedBytes(x, limit: maxStringBytes), "printing a \(x.typeName) in \(what())")
        default: return
        }
    }

    /// A lower bound on the UTF-8 length of `x.repr` (exact but for escapes), walking at
    /// most until it passes `limit`, so the walk itself is bounded.
    static func printedBytes(_ x: JinjaValue, limit: Int) -> Int {
        var total = 0
        func walk(_ v: JinjaValue) {
            guard total <= limit else { return }
            switch v {
            case .string(let s): total += s.utf8.count + 2
            case .list(let l):
                total += 2
                for item in l { walk(item); total += 2; if total > limit { return } }
            case .dict(let d):
                total += 2
                for (k, item) in d { total += k.utf8.count + 4; walk(item); if total > limit { return } }
            default: total += 8
            }
        }
        walk(x)
        return total
    }
}

/// Per-render counters behind `maxCallDepth` and `maxSteps` (one per render, shared by the
/// closures the render creates).
final class JinjaBudget {
    private(set) var depth = 0
    private(set) var steps = 0

    func spend(_ n: Int, _ what: @autoclosure () -> String) throws {
        steps += n
        guard steps <= JinjaSandbox.maxSteps else {
            throw JinjaSandbox.fail("\(what()) pushes the render past maxSteps (\(JinjaSandbox.maxSteps) units: "
                + "\(JinjaSandbox.stepsPerIteration) per loop iteration or macro call, 1 per item a filter or 'in' visits)")
        }
    }

    func enter(_ macro: String) throws {
        depth += 1
        guard depth <= JinjaSandbox.maxCallDepth else {
            throw JinjaSandbox.fail("macro '\(macro)' nested \(depth) calls deep, over maxCallDepth (\(JinjaSandbox.maxCallDepth))")
        }
    }

    func leave() { depth -= 1 }
}
