// LoRA against PEFT: adapters PEFT saved (Fixtures/lora/<name>, Reference/reference_lora.py)
// load with the same logits, loss and A/B gradients; disabled adapters give the base; merging
// gives the adapted logits; the base gets no gradient and no optimizer state; our saved files
// use PEFT's keys and config. Bad adapter files and configs fail naming the file and key.
import Foundation
import Models
import NN
import SafeTensors
import TensorCore
import Testing

private func loraDir(_ name: String) -> String { fixtureDir("lora/\(name)") }

/// The llama fixture's adapters (its lora_dropout is 0) rebuilt on `model` with dropout `p` and a
/// random non-zero B, so every adapter changes the output and its dropout shows.
func llamaAdaptersWithDropout(on model: CausalLM, p: Float) throws -> LoRAAdapters {
    let loaded = try LoRAFiles.load(loraDir("llama"), onto: model)
    loaded.detach()
    var cfg = loaded.config
    cfg.loraDropout = p
    let adapters = try LoRAAdapters(attachingTo: model, config: cfg, seed: 5)
    var rng = Philox(seed: 9)
    for s in adapters.sites { s.lora.b.value = Tensor.randomNormal(s.lora.b.shape, std: 0.2, rng: &rng) }
    return adapters
}

private func loraTempDir(_ tag: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("lora-test-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
}

/// Max |diff| over real (non-padding) rows of (B, T, V) logits.
private func logitsDiff(_ a: [Float], _ b: [Float], _ batch: TokenBatch, vocab: Int) -> (Float, Int) {
    maxDiff(a, b) { batch.attentionMask[$0 / vocab] != 0 }
}

@Suite struct LoRATests {
    @Test(arguments: ["gpt2", "llama", "qwen2"])
    func peftAdapterMatchesLogitsLossAndGradients(name: String) throws {
        let base = try Golden(name), golden = try Golden("lora/\(name)")
        let model = try ModelDirectory.loadCausalLM(fixtureDir(name))
        let adapters = try LoRAFiles.load(loraDir(name), onto: model)
        let batch = try base.batch(), v = model.config.vocabSize
        #expect(!adapters.sites.isEmpty)

        let tape = Tape()
        let loss = try tape.record { try model.loss(batch, labels: base.ints("labels")) }
        let logits = try model(batch).value.scalars
        let (d, at) = logitsDiff(logits, try golden.file.tensor(named: "logits").scalars, batch, vocab: v)
        #expect(d <= 1e-4, "\(name) adapted logits: max |diff| \(d) at \(at)")
        let peftLoss = Float((golden.json["loss"] as! NSNumber).doubleValue)
        #expect(abs(loss.value.item - peftLoss) <= 1e-5, "\(name) loss: ours \(loss.value.item) vs PEFT \(peftLoss)")

        try tape.backward(loss)
        var checked = 0
        for (key, p) in adapters.namedParameters() {
            let ours = try #require(p.grad, "\(name): no gradient for \(key)")
            let theirs = try golden.file.tensor(named: "grad." + key).scalars
            let scale = theirs.map(abs).max() ?? 0
            let (gd, gi) = maxDiff(ours.scalars, theirs)
            #expect(gd <= 1e-3 * max(scale, 1e-6), "\(name) grad \(key): max |diff| \(gd) (max |grad| \(scale)) at \(gi)")
            checked += 1
        }
        // Every gradient PEFT recorded is one of ours (same keys, same count).
        #expect(checked == golden.file.names.filter { $0.hasPrefix("grad.") }.count)
        for (path, p) in model.namedParameters() {
            #expect(p.grad == nil && !p.requiresGrad, "\(name): frozen base parameter \(path) got a gradient")
        }

        let bare = try adapters.withAdaptersDisabled { try model(batch).value.scalars }
        let (dd, dat) = logitsDiff(bare, try golden.file.tensor(named: "logits_disabled").scalars, batch, vocab: v)
        #expect(dd <= 1e-4, "\(name) adapters disabled: max |diff| \(dd) at \(dat)")
        #expect(adapters.control.enabled, "withAdaptersDisabled must switch the adapters back on")
    }

    @Test(arguments: ["gpt2", "llama", "qwen2"])
    func mergedModelGivesTheAdaptedLogits(name: String) throws {
        let base = try Golden(name), golden = try Golden("lora/\(name)")
        let model = try ModelDirectory.loadCausalLM(fixtureDir(name))
        let adapters = try LoRAFiles.load(loraDir(name), onto: model)
        let batch = try base.batch(), v = model.config.vocabSize
        let adapted = try model(batch).value.scalars
        adapters.merge()
        let merged = try model(batch).value.scalars
        let (d, at) = logitsDiff(merged, adapted, batch, vocab: v)
        #expect(d <= 1e-4, "\(name) merged vs base + adapter: max |diff| \(d) at \(at)")
        let (dp, _) = logitsDiff(merged, try golden.file.tensor(named: "logits_merged").scalars, batch, vocab: v)
        #expect(dp <= 1e-4, "\(name) merged vs PEFT merge_and_unload: max |diff| \(dp)")
        // A merged model is a plain model: saved and loaded like any other.
        let dir = loraTempDir("merged")
        defer { try? FileManager.default.removeItem(at: dir) }
        try ModelDirectory.save(model, to: dir.path)
        let reloaded = try ModelDirectory.loadCausalLM(dir.path)
        let (dr, _) = logitsDiff(try reloaded(batch).value.scalars, adapted, batch, vocab: v)
        #expect(dr <= 1e-4, "\(name) saved merged model: max |diff| \(dr)")
    }

    @Test(arguments: ["gpt2", "llama", "qwen2"])
    func savedAdapterUsesPEFTKeysAndReloads(name: String) throws {
        let golden = try Golden("lora/\(name)"), base = try Golden(name)
        let model = try ModelDirectory.loadCausalLM(fixtureDir(name))
        let (config, _) = try LoRAFiles.loadConfig(loraDir(name), family: model.config.family)
        let adapters = try LoRAAdapters(attachingTo: model, config: config, seed: 7)
        // Give B values so the round trip is not trivially the base.
        var rng = Philox(seed: 3)
        for s in adapters.sites { s.lora.b.value = Tensor.randomNormal(s.lora.b.shape, std: 0.1, rng: &rng) }
        let batch = try base.batch()
        let before = try model(batch).value.scalars
        let dir = loraTempDir("save")
        defer { try? FileManager.default.removeItem(at: dir) }
        try LoRAFiles.save(adapters, into: dir, baseModel: fixtureDir(name))

        let ours = try SafeTensorsFile(path: dir.appendingPathComponent(LoRAFiles.weightsName).path)
        let peft = try SafeTensorsFile(path: loraDir(name) + "/" + LoRAFiles.weightsName)
        #expect(ours.names == peft.names, "\(name): our keys differ from PEFT's")
        for key in peft.names { #expect(try ours.entry(named: key).shape == peft.entry(named: key).shape, "\(key)") }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(LoRAFiles.configName))) as! [String: Any]
        let peftJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: loraDir(name) + "/" + LoRAFiles.configName))) as! [String: Any]
        for key in ["peft_type", "task_type", "r", "lora_alpha", "use_rslora", "bias", "fan_in_fan_out"] {
            let (a, b) = (json[key] as? NSObject, peftJSON[key] as? NSObject)
            #expect(a != nil && a == b, "\(name) adapter_config.json \(key): ours \(String(describing: a)) vs PEFT \(String(describing: b))")
        }
        #expect(Set(json["target_modules"] as! [String]) == Set(peftJSON["target_modules"] as! [String]))
        _ = golden

        let fresh = try ModelDirectory.loadCausalLM(fixtureDir(name))
        _ = try LoRAFiles.load(dir.path, onto: fresh)
        let (d, _) = logitsDiff(try fresh(batch).value.scalars, before, batch, vocab: model.config.vocabSize)
        #expect(d == 0, "\(name) reloaded adapter: max |diff| \(d)")
    }

    /// Resuming a checkpoint: values copied into adapters already attached, all or nothing.
    @Test func restoreCopiesIntoAttachedAdapters() throws {
        let model = try ModelDirectory.loadCausalLM(fixtureDir("qwen2"))
        let (config, _) = try LoRAFiles.loadConfig(loraDir("qwen2"), family: .llama)
        let adapters = try LoRAAdapters(attachingTo: model, config: config, seed: 1)
        let batch = try Golden("qwen2").batch()
        try LoRAFiles.restore(adapters, from: loraDir("qwen2"))
        let (d, _) = logitsDiff(try model(batch).value.scalars, try Golden("lora/qwen2").file.tensor(named: "logits").scalars,
                                batch, vocab: model.config.vocabSize)
        #expect(d <= 1e-4, "restored adapter vs PEFT logits: max |diff| \(d)")
        let other = try LoRAAdapters(attachingTo: ModelDirectory.loadCausalLM(fixtureDir("llama")),
                                     config: PeftConfig(r: 4, targetModules: ["q_proj"]), seed: 2)
        let before = other.parameters().map(\.value.scalars)
        #expect { try LoRAFiles.restore(other, from: loraDir("llama")) } throws: { "\($0)".contains("unexpected tensors") }
        #expect(other.parameters().map(\.value.scalars) == before, "a refused restore changes nothing")
    }

    @Test func freshAdapterLeavesTheOutputUnchanged() throws {
        let model = try ModelDirectory.loadCausalLM(fixtureDir("llama"))
        let batch = try Golden("llama").batch()
        let plain = try model(batch).value.scalars
        let adapters = try LoRAAdapters(attachingTo: model, config: PeftConfig(r: 4, targetModules: PeftConfig.knownTargets(.llama)), seed: 1)
        #expect(adapters.sites.count == 2 * 7)
        #expect(try model(batch).value.scalars == plain, "B = 0 at init: the adapted model must equal the base")
        #expect(adapters.sites.allSatisfy { $0.lora.a.value.scalars.contains { $0 != 0 } })
    }

    /// PEFT's matching: GPT-2's "c_proj" adapts both attn.c_proj and mlp.c_proj; defaults per family.
    @Test func targetsMatchLikePEFT() throws {
        let gpt2 = try ModelDirectory.loadCausalLM(fixtureDir("gpt2"))
        let a = try LoRAAdapters(attachingTo: gpt2, config: PeftConfig(targetModules: ["c_proj"]), seed: 0)
        #expect(a.sites.map(\.module) == ["transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_proj",
                                          "transformer.h.1.attn.c_proj", "transformer.h.1.mlp.c_proj"])
        let llama = try ModelDirectory.loadCausalLM(fixtureDir("llama"))
        let d = try LoRAAdapters(attachingTo: llama, config: PeftConfig(), seed: 0)
        #expect(d.sites.map(\.module) == ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                                          "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"])
        #expect(PeftConfig(r: 16, loraAlpha: 32).scaling == 2)
        #expect(PeftConfig(r: 16, loraAlpha: 32, useRslora: true).scaling == 8)
    }

    /// The frozen base holds no gradient and the optimiser keeps state for A and B only.
    @Test func trainingStepTouchesOnlyTheAdapters() throws {
        let model = try ModelDirectory.loadCausalLM(fixtureDir("qwen2"))
        let golden = try Golden("qwen2")
        let baseValues = model.parameters().map(\.value.scalars)
        let adapters = try LoRAAdapters(attachingTo: model, config: PeftConfig(r: 2, targetModules: ["q_proj", "v_proj"]), seed: 0)
        let opt = AdamW(parameters: adapters.parameters(), config: AdamWConfig(lr: 1e-2))
        for _ in 0..<2 {
            let tape = Tape()
            let loss = try tape.record { try model.loss(golden.batch(), labels: golden.ints("labels")) }
            try tape.backward(loss)
            opt.step()
            adapters.zeroGrad()
        }
        #expect(opt.parameters.count == 2 * 2 * 2, "A and B of 2 modules x 2 layers")
        #expect(opt.m.allSatisfy { $0 != nil }, "every adapter parameter has optimizer state")
        #expect(model.parameters().allSatisfy { $0.grad == nil })
        #expect(model.parameters().map(\.value.scalars) == baseValues, "the base weights must not move")
        #expect(adapters.sites.allSatisfy { $0.lora.b.value.scalars.contains { $0 != 0 } }, "B must have trained")
    }

    /// LoRA dropout (adapter input only) draws from the row streams: same streams, same masks.
    @Test func dropoutIsSeededAndOnlyWhileSet() throws {
        let model = try ModelDirectory.loadCausalLM(fixtureDir("llama"))
        let batch = try Golden("llama").batch()
        let withDropout = try llamaAdaptersWithDropout(on: model, p: 0.3)
        let eval = try model(batch).value.scalars
        func streams(_ seed: UInt64) -> RowStreams { RowStreams(seed: seed, step: 0, keys: (0..<batch.batch).map { (row: $0, sub: 0) }) }
        withDropout.setDropout(streams(1))
        let a = try model(batch).value.scalars
        withDropout.setDropout(streams(1))
        let b = try model(batch).value.scalars
        withDropout.setDropout(streams(2))
        let c = try model(batch).value.scalars
        withDropout.setDropout(nil)
        #expect(a == b, "the same seed must draw the same dropout masks")
        #expect(a != c && a != eval, "dropout must change the adapted output while a generator is set")
        #expect(try model(batch).value.scalars == eval, "no generator: no dropout")
        // Dropout acts on the adapter's input only: with adapters off it has no effect.
        withDropout.setDropout(streams(1))
        let bare = try withDropout.withAdaptersDisabled { try model(batch).value.scalars }
        withDropout.setDropout(nil)
        #expect(try withDropout.withAdaptersDisabled { try model(batch).value.scalars } == bare)
    }
}

@Suite struct LoRABadInputTests {
    /// A copy of a fixture adapter with `edit` applied to its config dictionary and tensors.
    private func editedAdapter(_ name: String, config edit: (inout [String: Any]) -> Void = { _ in },
                               tensors editTensors: (inout [(name: String, tensor: Tensor)]) -> Void = { _ in }) throws -> URL {
        let dir = loraTempDir("bad")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: loraDir(name) + "/adapter_config.json"))) as! [String: Any]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("adapter_config.json"))
        let f = try SafeTensorsFile(path: loraDir(name) + "/adapter_model.safetensors")
        var tensors = try f.names.map { (name: $0, tensor: try f.tensor(named: $0)) }
        editTensors(&tensors)
        try SafeTensorsWriter.write(tensors, to: dir.appendingPathComponent("adapter_model.safetensors").path)
        return dir
    }

    private func loadError(_ dir: URL, base: String = "llama") throws -> String {
        let model = try ModelDirectory.loadCausalLM(fixtureDir(base))
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try LoRAFiles.load(dir.path, onto: model)
        } catch {
            // A refused adapter leaves the model as it was: no adapters, base trainable.
            #expect(LoRAAdapters.namedProjections(model).allSatisfy { $0.1.adapter == nil })
            #expect(model.parameters().allSatisfy { $0.requiresGrad })
            return error.description
        }
        Issue.record("expected the adapter in \(dir.path) to be refused")
        return ""
    }

    @Test func missingTensorIsNamed() throws {
        let key = "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"
        let msg = try loadError(editedAdapter("llama", tensors: { $0.removeAll { $0.name == key } }))
        #expect(msg.contains("missing tensor \"\(key)\"") && msg.contains("adapter_model.safetensors"), "\(msg)")
    }

    @Test func wrongShapeIsNamed() throws {
        let key = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
        let msg = try loadError(editedAdapter("llama", tensors: { t in
            let i = t.firstIndex { $0.name == key }!
            t[i].tensor = Tensor(zeros: [3, 32])
        }))
        #expect(msg.contains(key) && msg.contains(shapeString([3, 32])), "\(msg)")
    }

    @Test func unusedTensorIsNamed() throws {
        let msg = try loadError(editedAdapter("qwen2", config: { $0["target_modules"] = ["q_proj", "v_proj"] }), base: "qwen2")
        #expect(msg.contains("unexpected tensors") && msg.contains("down_proj"), "\(msg)")
    }

    @Test func unsupportedOptionsAreRefusedByName() throws {
        let dora = try loadError(editedAdapter("llama", config: { $0["use_dora"] = true }))
        #expect(dora.contains("use_dora") && dora.contains("adapter_config.json"), "\(dora)")
        let bias = try loadError(editedAdapter("llama", config: { $0["bias"] = "all" }))
        #expect(bias.contains("bias") && bias.contains("\"all\""), "\(bias)")
        let target = try loadError(editedAdapter("llama", config: { $0["target_modules"] = ["q_proj", "c_attn"] }))
        #expect(target.contains("\"c_attn\" is not a module of a llama model"), "\(target)")
        let rank = try loadError(editedAdapter("llama", config: { $0["rank_pattern"] = ["q_proj": 8] }))
        #expect(rank.contains("rank_pattern"), "\(rank)")
    }

    @Test func peftSectionRejectsOtherBiasesAndBadRanges() throws {
        let decoder = JSONDecoder()
        #expect(throws: DecodingError.self) {
            _ = try decoder.decode(PeftConfig.self, from: Data(#"{"r": 8, "bias": "lora_only"}"#.utf8))
        }
        let ok = try decoder.decode(PeftConfig.self, from: Data(#"{"r": 16, "lora_alpha": 32, "target_modules": ["q_proj"], "use_rslora": true}"#.utf8))
        #expect(ok == PeftConfig(r: 16, loraAlpha: 32, targetModules: ["q_proj"], useRslora: true))
        for (bad, field) in [(PeftConfig(r: 0), "peft.r"), (PeftConfig(loraDropout: 1), "peft.lora_dropout"),
                             (PeftConfig(loraAlpha: .nan), "peft.lora_alpha"), (PeftConfig(targetModules: []), "peft.target_modules")] {
            #expect { try bad.validate(file: "sft.json", prefix: "peft.") } throws: { e in
                "\(e)".contains("sft.json") && "\(e)".contains(field)
            }
        }
    }
}

/// Not a check by itself: with RLHF_LORA_EXPORT=DIR set, trains fresh adapters a few steps on
/// each fixture and writes DIR/<name>/ (our adapter + ours.safetensors with our logits) for
/// `python Reference/reference_lora.py --check-ours DIR`, which loads them with PEFT.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RLHF_LORA_EXPORT"] != nil))
struct LoRAExport {
    @Test(arguments: ["gpt2", "llama", "qwen2"])
    func exportTrainedAdapterForPEFT(name: String) throws {
        let out = URL(fileURLWithPath: ProcessInfo.processInfo.environment["RLHF_LORA_EXPORT"]!).appendingPathComponent(name)
        try? FileManager.default.removeItem(at: out)
        let golden = try Golden(name)
        let model = try ModelDirectory.loadCausalLM(fixtureDir(name))
        let (config, _) = try LoRAFiles.loadConfig(fixtureDir("lora/\(name)"), family: model.config.family)
        let adapters = try LoRAAdapters(attachingTo: model, config: config, seed: 11)
        let opt = AdamW(parameters: adapters.parameters(), config: AdamWConfig(lr: 0.05))
        let batch = try golden.batch()
        for _ in 0..<5 {
            let tape = Tape()
            try tape.backward(try tape.record { try model.loss(batch, labels: golden.ints("labels")) })
            opt.step()
            adapters.zeroGrad()
        }
        try LoRAFiles.save(adapters, into: out, baseModel: fixtureDir(name))
        try SafeTensorsWriter.write([(name: "logits", tensor: model(batch).value)], to: out.appendingPathComponent("ours.safetensors").path)
    }
}
