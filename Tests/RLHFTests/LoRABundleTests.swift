// Base + LoRA adapter wherever a model is loaded (ModelBundle) and `rlhf merge`: an adapter
// folder alone loads the base it records (absolute or relative to the folder); a missing base
// is an error naming base_model_name_or_path; `rlhf merge` writes a plain model whose logits
// equal base + adapter, from a folder base and from a .gguf base.
import Foundation
import Models
import RLHF
import RunKit
import TensorCore
import Testing

/// A tiny-llama adapter with random B (so it changes the output), saved under `dir` with
/// `baseModel` recorded; returns the adapted logits for `batch`.
private func writeAdapter(base: String, to dir: URL, baseModel: String?, batch: TokenBatch) throws -> [Float] {
    let model: CausalLM = base.hasSuffix(".gguf") ? try ModelBundle(directory: base).model : try ModelDirectory.loadCausalLM(base)
    let adapters = try LoRAAdapters(attachingTo: model, config: PeftConfig(r: 2, loraAlpha: 4, targetModules: ["q_proj", "down_proj"]),
                                    seed: 4)
    var rng = Philox(seed: 8)
    for s in adapters.sites { s.lora.b.value = Tensor.randomNormal(s.lora.b.shape, std: 0.3, rng: &rng) }
    try LoRAFiles.save(adapters, into: dir, baseModel: baseModel)
    return try model(batch).value.scalars
}

private let probe = try! TokenBatch(ids: [1, 5, 9, 3, 7, 2], batch: 1, time: 6)

@Suite struct LoRABundleTests {
    @Test func adapterFolderAloneLoadsItsRecordedBase() throws {
        let root = URL(fileURLWithPath: runDir("lora-bundle"))
        defer { try? FileManager.default.removeItem(at: root) }
        let base = rlhfFixture("tiny-llama")
        let plain = try ModelBundle(directory: base).model(probe).value.scalars

        let absolute = root.appendingPathComponent("abs")
        let adapted = try writeAdapter(base: base, to: absolute, baseModel: base, batch: probe)
        #expect(adapted != plain, "the test adapter must change the output")
        let a = try ModelBundle(directory: absolute.path)
        #expect(a.directory == base && a.adapterDirectory == absolute.path && a.adapters != nil)
        #expect(try a.model(probe).value.scalars == adapted)
        #expect(try a.adapters!.withAdaptersDisabled { try a.model(probe).value.scalars } == plain)

        // Relative to the adapter folder, not to the working directory: root/adapters/rel names
        // "../../base" (root/base, a link to the fixture), which does not exist from the cwd.
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("base").path, withDestinationPath: base)
        let relative = root.appendingPathComponent("adapters/rel")
        _ = try writeAdapter(base: base, to: relative, baseModel: "../../base", batch: probe)
        #expect(!FileManager.default.fileExists(atPath: "../../base/config.json"), "the test needs a cwd where ../../base is not a model")
        #expect(try ModelBundle(directory: relative.path).model(probe).value.scalars == adapted)

        // Named explicitly: the same.
        let b = try ModelBundle(directory: base, adapter: absolute.path)
        #expect(try b.model(probe).value.scalars == adapted)
    }

    @Test func unknownBaseIsNamed() throws {
        let root = URL(fileURLWithPath: runDir("lora-bundle-bad"))
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("adapter")
        _ = try writeAdapter(base: rlhfFixture("tiny-llama"), to: dir, baseModel: "HuggingFaceTB/SmolLM2-135M", batch: probe)
        #expect { try ModelBundle(directory: dir.path) } throws: { e in
            "\(e)".contains("adapter_config.json") && "\(e)".contains("base_model_name_or_path \"HuggingFaceTB/SmolLM2-135M\"")
        }
        let none = root.appendingPathComponent("none")
        _ = try writeAdapter(base: rlhfFixture("tiny-llama"), to: none, baseModel: nil, batch: probe)
        #expect { try ModelBundle(directory: none.path) } throws: { e in "\(e)".contains("base_model_name_or_path is not set") }
    }

    @Test(arguments: ["folder", "gguf"])
    func mergeCommandWritesThePlainAdaptedModel(kind: String) throws {
        let root = URL(fileURLWithPath: runDir("lora-merge"))
        defer { try? FileManager.default.removeItem(at: root) }
        let base = kind == "gguf" ? ggufFixture() : rlhfFixture("tiny-llama")
        let adapter = root.appendingPathComponent("adapter")
        let adapted = try writeAdapter(base: base, to: adapter, baseModel: base, batch: probe)
        let out = root.appendingPathComponent("merged").path
        let r = try runRLHF(["merge", "--base", base, "--adapter", adapter.path, "--to", out])
        #expect(r.status == 0, "\(r.stderr)")
        let merged = try ModelBundle(directory: out)
        #expect(merged.adapters == nil)
        let (d, _) = maxAbsDiff(try merged.model(probe).value.scalars, adapted)
        #expect(d <= 1e-5, "\(kind): merged vs base + adapter: max |diff| \(d)")
        // The tokenizer travels with the merged model (from the folder, or rebuilt from the .gguf).
        #expect(FileManager.default.fileExists(atPath: out + "/tokenizer.json"))
        let again = try runRLHF(["merge", "--base", base, "--adapter", adapter.path, "--to", out])
        #expect(again.status != 0 && again.stderr.contains("--overwrite"), "a non-empty --to needs --overwrite: \(again.stderr)")
    }
}

private func maxAbsDiff(_ a: [Float], _ b: [Float]) -> (Float, Int) {
    var worst: (Float, Int) = (a.count == b.count ? 0 : .infinity, -1)
    for i in 0..<min(a.count, b.count) where abs(a[i] - b[i]) > worst.0 || a[i].isNaN { worst = (abs(a[i] - b[i]), i) }
    return worst
}
