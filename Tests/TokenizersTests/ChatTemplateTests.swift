// Chat templates rendered byte-identically to transformers' apply_chat_template for the
// templates real models ship (SmolLM2, Qwen2.5, Llama 3 / 3.1, Mistral, Zephyr, Gemma),
// including tools and raise_exception; plus Jinja corner cases derivable by hand.
import Foundation
import Testing
import Tokenizers

@Suite struct ChatTemplateTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var template: String
        var conversation: String
        var addGenerationPrompt: Bool
        var tools: JSONValue
        var rendered: String?
        var ids: [Int]?
        var error: String?
        var testDescription: String { "\(template)/\(conversation)/agp=\(addGenerationPrompt)/tools=\(!tools.isNull)" }
    }

    static let fixture: JSONValue = (try? Fixtures.json("chat_templates.json")) ?? .null
    static let cases: [Case] = (fixture["cases"]?.array ?? []).map { c in
        Case(template: c["template"]?.string ?? "", conversation: c["conversation"]?.string ?? "",
             addGenerationPrompt: c["add_generation_prompt"]?.bool ?? false, tools: c["tools"] ?? .null,
             rendered: c["rendered"]?.string, ids: c["ids"].map { Fixtures.ints($0) }, error: c["error"]?.string)
    }

    @Test func fixtureHasCases() { #expect(ChatTemplateTests.cases.count > 30) }

    @Test(arguments: ChatTemplateTests.cases)
    func matchesApplyChatTemplate(c: Case) throws {
        let f = ChatTemplateTests.fixture
        let info = f["templates"]?[c.template]
        let source = info?["template"]?.string ?? ""
        let tok = try Fixtures.tokenizer(info?["tokenizer"]?.string ?? "")
        let messages = (f["conversations"]?[c.conversation]?.array ?? []).map(JinjaValue.init)
        let tools = c.tools.array?.map(JinjaValue.init)
        if let error = c.error {
            #expect(throws: TokenizerError.templateException(error)) {
                try tok.applyChatTemplate(messages: messages, addGenerationPrompt: c.addGenerationPrompt, tools: tools, template: source)
            }
            return
        }
        let got = try tok.applyChatTemplate(messages: messages, addGenerationPrompt: c.addGenerationPrompt, tools: tools, template: source)
        #expect(got == c.rendered, "\(c.testDescription)\n--- got\n\(got)\n--- want\n\(c.rendered ?? "")")
        if let ids = c.ids {
            // The tokenizer's own template (from tokenizer_config.json) and tokenize=True.
            #expect(tok.chatTemplate == source)
            let enc = try tok.encodeChat(messages: messages, addGenerationPrompt: c.addGenerationPrompt, tools: tools)
            #expect(enc == ids, "\(firstDifference(enc, ids))")
        }
    }

    func render(_ src: String, _ ctx: [String: JinjaValue] = [:]) throws -> String { try ChatTemplate(src).render(ctx) }

    /// Small cases whose output follows from Jinja's rules by hand.
    static let corner: [(String, [String: JinjaValue], String)] = [
        ("{{ 'a' + x | trim + 'b' }}", ["x": "  y "], "ayb"),
        ("{% for i in range(3) %}{{ loop.index }}{% if not loop.last %},{% endif %}{% endfor %}", [:], "1,2,3"),
        ("{% set ns = namespace(n=0) %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", [:], "6"),
        ("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", [:], "1"),
        ("{{ [1, 'a', none, true, 1.5] }}", [:], "[1, 'a', None, True, 1.5]"),
        ("{{ {'a': [1, 2], 'b': 'é'} | tojson }}", [:], #"{"a": [1, 2], "b": "é"}"#),
        ("{{ {'a': {}} | tojson(indent=2) }}", [:], "{\n  \"a\": {}\n}"),
        ("{{ x is defined }}{{ y is none }}{{ 3 is odd }}", ["y": nil], "FalseTrueTrue"),
        ("{{ 'abc'[1:] }}{{ [1,2,3][-1] }}{{ [1,2,3][::-1] }}", [:], "bc3[3, 2, 1]"),
        ("{% for k, v in d | items %}{{ k }}={{ v }};{% endfor %}", ["d": ["b": 1, "a": 2]], "b=1;a=2;"),
        ("{{ 'x' if false else 'y' }}{{ -7 // 2 }}{{ 7 % 3 }}", [:], "y-41"),
        ("  {% if true %}\n  yes\n  {% endif %}\n", [:], "  yes\n"),
        ("{%- if true -%}  a  {%- endif -%}", [:], "a"),
        ("{% macro greet(n, p='Hi') %}{{ p }} {{ n }}{% endmacro %}{{ greet('Bo') }}", [:], "Hi Bo"),
        ("{% for m in ['a','b','c'] %}{% if m == 'b' %}{% continue %}{% endif %}{{ m }}{% endfor %}", [:], "ac"),
        ("{{ 'A-b'.lower().split('-') | join('+') }}{{ ' x '.strip() }}", [:], "a+bx"),
    ]

    @Test func jinjaCornerCases() throws {
        for (src, ctx, want) in ChatTemplateTests.corner {
            do {
                #expect(try render(src, ctx) == want, "\(src)")
            } catch {
                Issue.record("\(src): \(error)")
            }
        }
    }

    @Test func unsupportedJinjaIsAClearError() throws {
        #expect(throws: TokenizerError.template("unsupported Jinja statement 'include'")) { try render("{% include 'x' %}") }
        #expect(throws: TokenizerError.template("unsupported Jinja filter 'wibble'")) { try render("{{ 1 | wibble }}") }
        #expect(throws: TokenizerError.self) { try render("{% if x %}never closed") }
        #expect(throws: TokenizerError.self) { try render("{{ 'unterminated }}") }
        #expect(throws: TokenizerError.templateException("no")) { try render("{{ raise_exception('no') }}") }
    }

    @Test func plainMessagesAPI() throws {
        let tok = try Fixtures.tokenizer("qwen2")
        let text = try tok.applyChatTemplate([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
        #expect(text == "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(try tok.encodeChat([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true) == tok.encode(text, addSpecialTokens: false))
    }
}
