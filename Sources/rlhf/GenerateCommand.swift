// `rlhf generate`: one prompt in, the completion streamed to stdout as tokens arrive (logs
// go to stderr). --chat renders the model's chat template with one user message (and an
// optional system message) and the generation prompt. Temperature 0 means greedy.
import ArgumentParser
import Foundation
import Generation
import RLHF
import Tokenizers

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Sample a completion from a model, streaming it to stdout.")

    @Option(help: "Hugging Face model directory.") var model: String
    @Option(help: "The prompt text.") var prompt: String
    @Flag(help: "Wrap the prompt in the model's chat template as a user message.") var chat = false
    @Option(help: "With --chat: a system message.") var system: String?
    @OptionGroup var sampling: SamplingOptions

    func run() throws {
        let bundle = try ModelBundle(directory: model)
        let tok = bundle.tokenizer
        let ids: [Int]
        if chat {
            var messages: [ChatMessage] = []
            if let system { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: prompt))
            ids = try tok.encodeChat(messages, addGenerationPrompt: true)
        } else {
            ids = tok.encode(prompt)
        }
        if bundle.eosTokenIds.isEmpty {
            FileHandle.standardError.write(Data("warning: the model names no EOS token; generating exactly \(sampling.maxNewTokens) tokens\n".utf8))
        }
        let config = sampling.config(eosTokenIds: bundle.eosTokenIds, padTokenId: bundle.padTokenId)
        var streamed: [Int] = []
        var printed = ""
        let eos = Set(bundle.eosTokenIds)
        _ = try Generator.generate(bundle.model, prompts: [ids.map(Int32.init)], config: config) { _, toks in
            guard let t = toks[0], !eos.contains(t) else { return }
            streamed.append(Int(t))
            // Print only text that is complete: a byte-level token may end mid-character.
            let text = tok.decode(streamed, skipSpecialTokens: true)
            if text.hasPrefix(printed), !text.hasSuffix("\u{FFFD}") {
                FileHandle.standardOutput.write(Data(text.dropFirst(printed.count).utf8))
                printed = text
            }
        }
        let final = tok.decode(streamed, skipSpecialTokens: true)
        if final.hasPrefix(printed) { FileHandle.standardOutput.write(Data(final.dropFirst(printed.count).utf8)) }
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
