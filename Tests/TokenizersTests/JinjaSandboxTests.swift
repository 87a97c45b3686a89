// A chat template is code that arrives in a model file: each template here would crash,
// hang or exhaust memory without the sandbox, and must instead fail with an error naming
// the cap it hit. Plus a check that real-sized work stays under every cap.
import Foundation
import Testing
import Tokenizers

@Suite struct JinjaSandboxTests {
    /// Renders `source` and returns the error text (nil if it rendered).
    func failure(_ source: String, _ context: [String: JinjaValue] = [:]) -> String? {
        do { _ = try ChatTemplate(source).render(context); return nil } catch { return "\(error)" }
    }

    func expectFailure(_ source: String, mentions words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let e = failure(source)
        #expect(e != nil, "rendered without an error", sourceLocation: sourceLocation)
        for w in words { #expect(e?.contains(w) == true, "error \(e ?? "nil") does not mention \(w)", sourceLocation: sourceLocation) }
    }

    @Test func rangeIsCapped() {
        expectFailure("{% for i in range(100000000) %}{% endfor %}", mentions: ["range(100000000)", "maxRange"])
        expectFailure("{{ range(-9223372036854775807, 9223372036854775807)|length }}", mentions: ["maxRange"])
        #expect(failure("{{ range(100000)|length }}") == nil)
    }

    @Test func recursiveMacroIsCapped() {
        expectFailure("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", mentions: ["macro 'f'", "maxCallDepth"])
    }

    @Test func loopIterationsAreCapped() {
        // 10^10 iterations from two capped ranges: must stop at the step budget, not run for hours.
        expectFailure("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", mentions: ["maxSteps"])
        // A macro calling itself twice per level: 2^40 calls at a depth far below the depth cap.
        expectFailure("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
                      mentions: ["maxSteps"])
    }

    @Test func stringDoublingIsCapped() {
        expectFailure("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
                      mentions: ["maxStringBytes"])
        expectFailure("{{ 'a' * 1000000000000 }}", mentions: ["maxStringBytes"])
        expectFailure("{{ [1] * 1000000000000 }}", mentions: ["maxListCount"])
        // A list shares its items, so doubling it costs nothing until it is printed.
        expectFailure("{% set ns = namespace(l=['" + String(repeating: "x", count: 1000) + "']) %}"
                      + "{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}", mentions: ["maxStringBytes"])
        expectFailure("{% for i in range(100000) %}" + String(repeating: "x", count: 1000) + "{% endfor %}",
                      mentions: ["the template output"])
    }

    @Test func deepNestingIsCapped() {
        expectFailure("{{ " + String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000) + " }}",
                      mentions: ["maxNesting"])
        expectFailure(String(repeating: "{% if true %}", count: 100_000) + String(repeating: "{% endif %}", count: 100_000),
                      mentions: ["maxNesting"])
    }

    /// The caps together keep the interpreter's recursion inside a thread's stack: macros
    /// nested just under maxCallDepth, each inside blocks nested just under maxNesting.
    @Test func deepestAllowedRecursionFitsTheStack() throws {
        let blocks = JinjaSandbox.maxNesting - 10, calls = JinjaSandbox.maxCallDepth - 1
        let body = String(repeating: "{% if true %}", count: blocks) + "{% if k < \(calls - 1) %}{{ f(k + 1) }}{% endif %}"
            + String(repeating: "{% endif %}", count: blocks)
        #expect(try ChatTemplate("{% macro f(k) %}" + body + "{% endmacro %}{{ f(0) }}done").render([:]) == "done")
    }

    @Test func integerOverflowIsAnError() throws {
        for source in ["{{ 9223372036854775807 + 1 }}", "{{ -9223372036854775807 - 2 }}", "{{ 4294967296 * 4294967296 }}",
                       "{{ 2 ** 64 }}", "{{ (-9223372036854775807 - 1) // -1 }}", "{{ 99999999999999999999 }}",
                       "{{ (-9223372036854775807 - 1)|abs }}", "{{ (10.0 ** 300)|int }}"] {
            let e = failure(source)
            #expect(e != nil, "\(source) rendered")
            #expect(e?.contains("64") == true, "\(source): \(e ?? "nil")")
        }
        #expect(try ChatTemplate("{{ 2 ** 62 }} {{ 7 // -2 }} {{ -7 % 3 }}").render([:]) == "4611686018427387904 -4 2")
    }

    @Test func realSizedWorkFitsTheCaps() throws {
        // 2 000 messages, each looked up against the whole list: 4 million steps.
        let messages = JinjaValue.list((0..<2000).map { .dict([("role", .string("user")), ("content", .string("message \($0)"))]) })
        let t = "{% for m in messages %}{% if m in messages %}{{ m.content|length }}{% endif %}{% endfor %}"
        #expect(try ChatTemplate(t).render(["messages": messages]).count > 2000)
    }
}
