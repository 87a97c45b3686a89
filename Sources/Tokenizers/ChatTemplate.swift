// Chat templates: render tokenizer_config.json's Jinja `chat_template` the way transformers'
// `apply_chat_template` does (trim_blocks, lstrip_blocks, special-token variables, `tools`,
// `add_generation_prompt`), then optionally encode without adding special tokens again.
// Leaves out `documents`/RAG helpers beyond passing them through, and assistant masks.

/// One chat turn with plain text content. Richer messages (tool calls) use `JinjaValue`.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
    public var jinjaValue: JinjaValue { .dict([("role", .string(role)), ("content", .string(content))]) }
}

/// A parsed template; parse once, render many times.
public struct ChatTemplate: Sendable {
    let nodes: [JinjaNode]
    public init(_ source: String) throws { nodes = try JinjaParser.parse(source) }
    /// Renders with `context` as the template's variables.
    public func render(_ context: [String: JinjaValue]) throws -> String {
        try JinjaInterpreter.render(nodes, context: context)
    }
}

extension JinjaNode: @unchecked Sendable {}

extension Tokenizer {
    /// Renders `messages` with the tokenizer's chat template (or `template`), as
    /// `apply_chat_template(messages, tokenize=False, add_generation_prompt=..., tools=...)`.
    /// `raise_exception` in the template surfaces as `TokenizerError.templateException`.
    public func applyChatTemplate(messages: [JinjaValue], addGenerationPrompt: Bool = false, tools: [JinjaValue]? = nil,
                                  template: String? = nil, context extra: [String: JinjaValue] = [:]) throws -> String {
        guard let source = template ?? chatTemplate else {
            throw TokenizerError.template("tokenizer_config.json has no chat_template; pass one explicitly")
        }
        var ctx: [String: JinjaValue] = [
            "messages": .list(messages),
            "tools": tools.map { .list($0) } ?? .none,
            "documents": .none,
            "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        for (k, v) in [("bos_token", bosToken), ("eos_token", eosToken), ("unk_token", unkToken), ("pad_token", padToken)] {
            if let v { ctx[k] = .string(v) }
        }
        for (k, v) in extra { ctx[k] = v }
        return try ChatTemplate(source).render(ctx)
    }

    public func applyChatTemplate(_ messages: [ChatMessage], addGenerationPrompt: Bool = false, tools: [JinjaValue]? = nil,
                                  template: String? = nil, context: [String: JinjaValue] = [:]) throws -> String {
        try applyChatTemplate(messages: messages.map(\.jinjaValue), addGenerationPrompt: addGenerationPrompt, tools: tools,
                              template: template, context: context)
    }

    /// Ids of the rendered conversation, as `apply_chat_template(..., tokenize=True)`: the
    /// template writes the special tokens itself, so none are added on top.
    public func encodeChat(_ messages: [ChatMessage], addGenerationPrompt: Bool = false, tools: [JinjaValue]? = nil,
                           template: String? = nil) throws -> [Int] {
        encode(try applyChatTemplate(messages, addGenerationPrompt: addGenerationPrompt, tools: tools, template: template),
               addSpecialTokens: false)
    }

    public func encodeChat(messages: [JinjaValue], addGenerationPrompt: Bool = false, tools: [JinjaValue]? = nil,
                           template: String? = nil) throws -> [Int] {
        encode(try applyChatTemplate(messages: messages, addGenerationPrompt: addGenerationPrompt, tools: tools, template: template),
               addSpecialTokens: false)
    }
}
