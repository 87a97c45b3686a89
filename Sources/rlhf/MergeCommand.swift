// `rlhf merge --base DIR|FILE.gguf --adapter DIR --to DIR`: folds a LoRA adapter (PEFT folder)
// into its base and writes a plain Hugging Face model (config.json, Float32 model.safetensors,
// tokenizer and generation files) that transformers and every `--model` here load without the
// adapter. A non-empty --to needs --overwrite; only the files the merge writes are replaced.
// Leaves out quantizing the result and writing GGUF.
import ArgumentParser
import Foundation
import GGUF
import Models
import RunKit

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge a LoRA adapter into its base model and save a plain Hugging Face model directory.")

    @Option(help: "The base model: a Hugging Face directory or a .gguf file.") var base: String
    @Option(help: "The adapter folder (adapter_config.json + adapter_model.safetensors, as PEFT saves).") var adapter: String
    @Option(help: "Output directory: new or empty, or non-empty with --overwrite.") var to: String
    @Flag(help: "Write into a non-empty --to folder; files the merge does not write are kept.") var overwrite = false

    func run() throws {
        let start = Date()
        let target = URL(fileURLWithPath: to).standardizedFileURL
        guard target != URL(fileURLWithPath: base).standardizedFileURL, target != URL(fileURLWithPath: adapter).standardizedFileURL else {
            throw ValidationError("--to \(to) is the base or the adapter; the merge writes a new model beside them")
        }
        try RunDirectory.check(to, field: "--to", overwrite: overwrite, resume: false)
        var merged = 0
        try DirectoryPublish.publish(into: target) { staging in
            let model: CausalLM
            var companions = base
            if base.lowercased().hasSuffix(".gguf") {
                // The converter writes the tokenizer and generation files a .gguf carries; the
                // merged weights then replace its model.safetensors.
                try GGUFConverter.convert(gguf: base, to: staging.path)
                model = try ModelDirectory.loadCausalLM(staging.path)
                companions = staging.path
            } else {
                model = try ModelDirectory.loadCausalLM(base)
            }
            let adapters = try LoRAFiles.load(adapter, onto: model)
            merged = adapters.sites.count
            adapters.merge()
            try ModelDirectory.save(model, to: staging.path, companionsFrom: companions)
        }
        let seconds = String(format: "%.1f", Date().timeIntervalSince(start))
        FileHandle.standardError.write(Data("merged \(merged) adapted modules of \(adapter) into \(base) -> \(to) in \(seconds) s\n".utf8))
    }
}
