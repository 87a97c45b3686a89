// `rlhf convert --from file.gguf --to DIR`: a llama.cpp GGUF model (llama / qwen2 with a
// byte-level BPE tokenizer) written as a Hugging Face directory transformers loads:
// config.json, Float32 model.safetensors, tokenizer.json, tokenizer_config.json (with the
// chat template), generation_config.json. A non-empty DIR needs --overwrite, and even then only
// those files are replaced (each atomically): anything else there, the source .gguf included,
// stays. Leaves out the reverse direction.
import ArgumentParser
import Foundation
import GGUF
import RunKit

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a GGUF model to a Hugging Face directory (safetensors F32 + config + tokenizer).")

    @Option(help: "The .gguf file.") var from: String
    @Option(help: "Output directory: new or empty, or non-empty with --overwrite.") var to: String
    @Flag(help: "Write into a non-empty --to folder; files the conversion does not write are kept.") var overwrite = false

    func run() throws {
        let start = Date()
        try RunDirectory.check(to, field: "--to", overwrite: overwrite, resume: false)
        try DirectoryPublish.publish(into: URL(fileURLWithPath: to)) { try GGUFConverter.convert(gguf: from, to: $0.path) }
        FileHandle.standardError.write(Data("converted \(from) -> \(to) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s\n".utf8))
    }
}
