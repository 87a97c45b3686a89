// Saving and loading HF directories: bit-identical round trips, the same tensor names
// transformers writes, fresh scalar heads on causal-LM checkpoints, and clear errors for
// every kind of bad checkpoint.
import Foundation
import Models
import NN
import SafeTensors
import TensorCore
import Testing

func tempDir(_ tag: String) -> String {
    let d = NSTemporaryDirectory() + "rlhf-\(tag)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func copyFixture(_ name: String) -> String {
    let d = tempDir(name)
    for f in try! FileManager.default.contentsOfDirectory(atPath: fixtureDir(name)) {
        try! FileManager.default.copyItem(atPath: fixtureDir(name) + "/" + f, toPath: d + "/" + f)
    }
    return d
}

func editConfig(_ dir: String, _ edit: (inout [String: Any]) -> Void) {
    let url = URL(fileURLWithPath: dir + "/config.json")
    var d = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    edit(&d)
    try! JSONSerialization.data(withJSONObject: d).write(to: url)
}

@Suite struct CheckpointTests {
    @Test(arguments: ["gpt2", "llama", "qwen2"])
    func saveLoadRoundTripIsBitIdenticalWithTransformersKeys(name: String) throws {
        let model = try ModelDirectory.loadCausalLM(fixtureDir(name))
        let out = tempDir("save") + "/model"
        try ModelDirectory.save(model, to: out, companionsFrom: fixtureDir(name))
        let written = try SafeTensorsFile(path: out + "/model.safetensors")
        let golden = try Golden(name)
        #expect(written.names == (golden.json["saved_keys"] as! [String]).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        let original = try SafeTensorsFile(path: fixtureDir(name) + "/model.safetensors")
        for n in written.names {
            #expect(try written.tensor(named: n).scalars == original.tensor(named: n).scalars, "\(n) changed in the round trip")
        }
        let reloaded = try ModelDirectory.loadCausalLM(out)
        #expect(reloaded.config == model.config)
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
        let arch = (cfg["architectures"] as? [String])?.first ?? ""
        #expect(arch.hasSuffix("ForCausalLM") || arch == "GPT2LMHeadModel", "architectures: \(arch)")
    }

    @Test(arguments: ["gpt2", "llama", "qwen2"])
    func scalarHeadSavesAsSequenceClassification(name: String) throws {
        let (model, fresh) = try ModelDirectory.loadScalarHead(fixtureDir(name), seed: 3)
        #expect(fresh)   // a causal-LM checkpoint has no score head
        let out = tempDir("cls") + "/rm"
        try ModelDirectory.save(model, to: out)
        let cls = try Golden(name + "-cls")
        let written = try SafeTensorsFile(path: out + "/model.safetensors")
        #expect(written.names == (cls.json["saved_keys"] as! [String]).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        let (back, freshAgain) = try ModelDirectory.loadScalarHead(out)
        #expect(!freshAgain && back.score.weight.value.scalars == model.score.weight.value.scalars)
    }

    @Test func classicRopeScalingKeysEqualRopeParameters() throws {
        let dir = copyFixture("llama")
        editConfig(dir) { d in
            let p = d.removeValue(forKey: "rope_parameters") as! [String: Any]
            d["rope_theta"] = p["rope_theta"]
            var s = p; s.removeValue(forKey: "rope_theta")
            d["rope_scaling"] = s
        }
        let a = try ModelDirectory.loadConfig(fixtureDir("llama")).0, b = try ModelDirectory.loadConfig(dir).0
        #expect(a.ropeInvFreq == b.ropeInvFreq)
        #expect(a.ropeInvFreq != RoPEFrequencies.standard(headDim: a.headDim, theta: 10000))
    }

    nonisolated(unsafe) static let badConfigs: [(String, (inout [String: Any]) -> Void, String)] = [
        ("unknown model type", { $0["model_type"] = "bert" }, "model_type \"bert\""),
        ("unsupported rope", { d in var p = d["rope_parameters"] as! [String: Any]; p["rope_type"] = "yarn"; d["rope_parameters"] = p }, "rope type \"yarn\""),
        ("unsupported activation", { $0["hidden_act"] = "gelu" }, "hidden_act \"gelu\""),
        ("wrong type", { $0["hidden_size"] = "32" }, "\"hidden_size\" must be a number"),
        ("missing key", { $0.removeValue(forKey: "intermediate_size") }, "missing \"intermediate_size\""),
        ("shape disagreeing with weights", { $0["intermediate_size"] = 64 }, "mlp.gate_proj.weight\" has shape (48, 32); the config implies (64, 32)"),
    ]

    @Test(arguments: 0..<badConfigs.count)
    func badConfigsAreNamedErrors(i: Int) throws {
        let (what, edit, expected) = Self.badConfigs[i]
        let dir = copyFixture("llama")
        editConfig(dir, edit)
        #expect("\(what): expected an error mentioning \(expected)",
                performing: { _ = try ModelDirectory.loadCausalLM(dir) }, throws: { "\($0)".contains(expected) })
    }

    @Test func missingAndUnexpectedTensorsAreNamed() throws {
        let dir = copyFixture("qwen2")
        let file = try SafeTensorsFile(path: dir + "/model.safetensors")
        var tensors = try file.names.map { (name: $0, tensor: try file.tensor(named: $0)) }
        tensors.removeAll { $0.name == "model.norm.weight" }
        try SafeTensorsWriter.write(tensors, to: dir + "/model.safetensors")
        #expect(performing: { _ = try ModelDirectory.loadCausalLM(dir) }, throws: { "\($0)".contains("missing tensor \"model.norm.weight\"") })
        tensors.append((name: "model.norm.weight", tensor: Tensor(shape: [32], repeating: 1)))
        tensors.append((name: "model.extra.weight", tensor: Tensor(zeros: [2])))
        try SafeTensorsWriter.write(tensors, to: dir + "/model.safetensors")
        #expect(performing: { _ = try ModelDirectory.loadCausalLM(dir) }, throws: { "\($0)".contains("unexpected tensors") && "\($0)".contains("model.extra.weight") })
    }

    @Test func picklesAreRefusedAndNeverOpened() throws {
        let dir = tempDir("pickle")
        try FileManager.default.copyItem(atPath: fixtureDir("gpt2") + "/config.json", toPath: dir + "/config.json")
        FileManager.default.createFile(atPath: dir + "/pytorch_model.bin", contents: Data("not really a pickle".utf8))
        #expect(performing: { _ = try ModelDirectory.loadCausalLM(dir) }, throws: { "\($0)".contains("never loaded") && "\($0)".contains("pytorch_model.bin") })
    }

    @Test func notADirectoryIsAClearError() {
        #expect(performing: { _ = try ModelDirectory.loadCausalLM("/nonexistent/model") }, throws: { "\($0)".contains("not a model directory") })
    }
}
