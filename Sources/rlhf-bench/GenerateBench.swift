// `rlhf-bench generate`: decode speed of the rollout engine — tokens/s at batch 1 and 8
// with 64 new tokens (prefill excluded), and the weight-read bandwidth this implies next
// to a memcpy of the same number of bytes measured in the same run. Random weights,
// GPT-2-124M and SmolLM2-135M shapes; greedy with EOS disabled so every row runs 64 steps.
// --gguf adds a real model from a .gguf file (e.g. SmolLM2-135M-Instruct), dequantized.
import ArgumentParser
import Foundation
import Generation
import Models
import RLHF
import TensorCore

struct GenerateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Decode tokens/s (batch 1 and 8, 64 new tokens) and weight-read bandwidth vs memcpy.")

    @Option(help: "New tokens per row.") var newTokens = 64
    @Option(help: "Prompt length in tokens.") var promptLength = 16
    @Option(help: "Which shapes: gpt2, smollm2 or all.") var model = "all"
    @Option(help: "Batch sizes, comma-separated.") var batches = "1,8"
    @Option(help: "Also measure this real model (.gguf file or HF directory); --model none skips the random ones.") var gguf: String?

    func run() throws {
        let shapes: [(String, TransformerConfig)] = [("gpt2_124m", .gpt2()), ("smollm2_135m", .llama())]
        var models: [(String, () throws -> CausalLM)] = shapes.filter { model == "all" || $0.0.hasPrefix(model) }.map { name, config in
            (name, { var initializer = WeightInit.random(seed: 1); return CausalLM(config: config, initializer: &initializer) })
        }
        if let gguf { models.append(("gguf_" + URL(fileURLWithPath: gguf).deletingPathExtension().lastPathComponent, { try ModelBundle(directory: gguf).model })) }
        for (name, load) in models {
            let lm = try load()
            let config = lm.config
            // Bytes read per decode step: every matrix once (the tied head reads the embedding).
            let weightBytes = Double(lm.namedParameters().filter { !$0.0.contains("positionEmbedding") && !($0.0.contains("tokenEmbedding") && !config.tiedEmbeddings) }
                .reduce(0) { $0 + $1.1.count } * 4)
            let memcpyGBs = Self.memcpyBandwidth(bytes: Int(weightBytes))
            printFigure("\(name)_weight_bytes_per_step", weightBytes / 1e6, "MB")
            printFigure("\(name)_memcpy_same_bytes", memcpyGBs, "GB/s")
            for b in batches.split(separator: ",").compactMap({ Int($0) }) {
                var rng = Philox(seed: 5)
                let prompts = (0..<b).map { _ in (0..<promptLength).map { _ in Int32(rng.nextUInt32() % UInt32(config.vocabSize)) } }
                let cfg = SamplingConfig(maxNewTokens: newTokens, temperature: 0, eosTokenIds: [], padTokenId: 0)
                var best = Double.infinity
                for _ in 0..<2 {
                    var start = 0.0, end = 0.0
                    _ = try Generator.generate(lm, prompts: prompts, config: cfg) { step, _ in
                        if step == 0 { start = now() }
                        end = now()
                    }
                    best = min(best, (end - start) / Double(newTokens - 1))
                }
                printFigure("\(name)_decode_b\(b)_tokens_per_s", Double(b) / best, "tokens/s")
                printFigure("\(name)_decode_b\(b)_ms_per_step", best * 1e3, "ms")
                let gbs = weightBytes / best / 1e9
                printFigure("\(name)_decode_b\(b)_weight_read", gbs, "GB/s")
                printFigure("\(name)_decode_b\(b)_weight_read_vs_memcpy", gbs / memcpyGBs, "x")
            }
        }
    }

    static func memcpyBandwidth(bytes: Int) -> Double {
        let src = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { src.deallocate(); dst.deallocate() }
        memset(src, 1, bytes); memset(dst, 0, bytes)
        let t = median(seconds: 5) { memcpy(dst, src, bytes) }
        return Double(bytes) / t / 1e9
    }
}
