// `rlhf perplexity --model DIR --data FILE`: each non-empty line of a .txt (or each
// {"text"} of a .jsonl) is a document, tokenized as `tokenizer.encode` does by default;
// every token after the first is scored. Prints nll, tokens and perplexity.
import ArgumentParser
import Foundation
import RLHF

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Mean next-token NLL and perplexity of a model over a text or JSONL file.")

    @Option(help: "Hugging Face model directory (config.json, model.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "A .txt file (one document per non-empty line) or .jsonl with a \"text\" field.")
    var data: String

    @Option(help: "Documents per forward pass.")
    var batchSize = 8

    func run() throws {
        let bundle = try ModelBundle(directory: model)
        let docs = try TextDocuments.read(data).map { bundle.tokenizer.encode($0).map(Int32.init) }
        let r = try Perplexity.evaluate(bundle.model, documents: docs, batchSize: batchSize)
        print("nll: \(String(format: "%.6f", r.nll))")
        print("tokens: \(r.tokens)")
        print("perplexity: \(String(format: "%.4f", r.perplexity))")
    }
}
