// `rlhf convert --from file.gguf --to DIR`: a llama.cpp GGUF model (llama / qwen2 with a
// byte-level BPE tokenizer) written as a Hugging Face directory transformers loads:
// config.json, Float32 model.safetensors, tokenizer.json, tokenizer_config.json (with the
// chat template), generation_config.json. Leaves out the reverse direction.
import ArgumentParser
import Foundation
import GGUF

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a GGUF model to a Hugging Face directory (safetensors F32 + config + tokenizer).")

    @Option(help: "The .gguf file.") var from: String
    @Option(help: "Output directory (replaced if it exists).") var to: String

    func run() throws {
        let start = Date()
        try GGUFConverter.convert(gguf: from, to: to)
        FileHandle.standardError.write(Data("converted \(from) -> \(to) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s\n".utf8))
    }
}
