// `rlhf tokenize`: text -> ids as a JSON array on one line (special tokens added as
// `tokenizer.encode(text)` adds them unless --no-special), or --decode ids -> text.
// Leaves out batch files and offsets.
import ArgumentParser
import Foundation
import Tokenizers

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode text to token ids (JSON array) or decode ids back to text with a tokenizer.json.")

    @Option(help: "A model directory (tokenizer.json or vocab.json + merges.txt), or a tokenizer.json file.")
    var tokenizer: String

    @Flag(help: "Do not add the post-processor's special tokens (bos/eos).")
    var noSpecial = false

    @Flag(help: "Treat TEXT as a JSON array of ids and print the decoded text.")
    var decode = false

    @Flag(help: "With --decode: leave special tokens out of the text.")
    var skipSpecial = false

    @Argument(help: "The text to encode, or with --decode a JSON array such as [1, 2, 3].")
    var text: String

    func run() throws {
        let tok = try Self.load(tokenizer)
        if decode {
            guard let ids = try JSONValue.parse(text).array?.map({ $0.int }), !ids.contains(where: { $0 == nil }) else {
                throw ValidationError("--decode expects a JSON array of integers, e.g. [1, 2, 3]")
            }
            print(tok.decode(ids.compactMap { $0 }, skipSpecialTokens: skipSpecial))
        } else {
            let ids = tok.encode(text, addSpecialTokens: !noSpecial)
            print("[" + ids.map(String.init).joined(separator: ", ") + "]")
        }
    }

    static func load(_ path: String) throws -> Tokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ValidationError("no such tokenizer path: \(path)")
        }
        let url = URL(fileURLWithPath: path)
        if isDir.boolValue { return try Tokenizer(directory: url) }
        let config = url.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        return try Tokenizer(tokenizerJSON: try Data(contentsOf: url),
                             configJSON: FileManager.default.fileExists(atPath: config.path) ? try Data(contentsOf: config) : nil)
    }
}
