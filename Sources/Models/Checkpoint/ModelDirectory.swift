// Loading and saving Hugging Face model directories: config.json + model.safetensors
// (single or sharded). Every parameter must be found with the right shape, and every
// tensor in the file must be used (or be a known non-parameter buffer): anything else is
// an error naming the file and tensor. Saves go to a temporary directory renamed into
// place, so a crash never leaves a half-written model where the user expects one.
import Foundation
import NN
import SafeTensors
import TensorCore

public enum ModelDirectory {
    /// Tokenizer and generation files copied alongside saved weights when present.
    public static let companionFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                        "vocab.json", "merges.txt", "generation_config.json", "chat_template.jinja"]

    public static func loadConfig(_ dir: String) throws(ModelError) -> (TransformerConfig, [String: Any]) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw .io(path: dir, detail: "not a model directory (expected a folder with config.json and model.safetensors)")
        }
        return try TransformerConfig.load(configFile: (dir as NSString).appendingPathComponent("config.json"))
    }

    static func openWeights(_ dir: String) throws(ModelError) -> SafeTensorsCollection {
        do {
            try ModelWeights.refusePickles(in: dir)
            return try SafeTensorsCollection(modelDirectory: dir)
        } catch {
            throw .underlying(error.description)
        }
    }

    /// Refuses, before the model is allocated, a config that the checkpoint's tensors cannot
    /// back (embedding shape, layer count, total values); the error names the config key.
    static func checkConfig(_ config: TransformerConfig, against weights: SafeTensorsCollection, dir: String) throws(ModelError) {
        var elements = 0
        var shapes: [String: [Int]] = [:]
        for name in weights.names {
            guard let e = try? weights.entry(named: name) else { continue }
            shapes[name] = e.shape
            let (s, o) = elements.addingReportingOverflow(e.elementCount)
            elements = o ? Int.max : s
        }
        let prefix = WeightMap.trunkPrefix(config.family)
        do {
            try config.checkAgainstCheckpoint(elementCount: elements) { path in
                let hf = WeightMap.hfName(path, family: config.family).name
                // Some GPT-2 exports omit the "transformer." prefix (as `assign` accepts).
                return shapes[hf] ?? (hf.hasPrefix(prefix) ? shapes[String(hf.dropFirst(prefix.count))] : nil)
            }
        } catch {
            let file = (dir as NSString).appendingPathComponent("config.json") + " (checked against \(weights.path))"
            throw TransformerConfig.configError(error, family: config.family, file: file)
        }
    }

    /// A causal LM (`*ForCausalLM`) from `dir`. A `score.weight` in the file is ignored.
    public static func loadCausalLM(_ dir: String) throws(ModelError) -> CausalLM {
        let (config, raw) = try loadConfig(dir)
        let weights = try openWeights(dir)
        try checkConfig(config, against: weights, dir: dir)
        var initializer = WeightInit.placeholder
        let model = CausalLM(config: config, initializer: &initializer)
        try assign(model, from: weights, family: config.family, ignoring: ["score.weight"])
        model.trunk.originalConfig = raw
        return model
    }

    /// A scalar-head model from `dir`: a `*ForSequenceClassification` checkpoint loads its
    /// `score.weight`; a causal-LM checkpoint gets a fresh head, N(0, initializer_range)
    /// from `seed` (its lm_head is ignored). Returns whether the head is fresh. A LoRA reward
    /// model (a PEFT SEQ_CLS adapter folder naming its base) loads as base + adapter + its head.
    public static func loadScalarHead(_ dir: String, seed: UInt64 = 0) throws(ModelError) -> (model: ScalarHeadModel, freshHead: Bool) {
        if try LoRAFiles.isAdapterOnly(dir) { return (try loadScalarHeadAdapter(dir).model, false) }
        let (config, raw) = try loadConfig(dir)
        let weights = try openWeights(dir)
        try checkConfig(config, against: weights, dir: dir)
        var placeholder = WeightInit.placeholder
        let trunk = TransformerTrunk(config: config, initializer: &placeholder)
        let fresh = !weights.contains("score.weight")
        var initializer = fresh ? WeightInit.random(seed: seed) : WeightInit.placeholder
        let model = ScalarHeadModel(trunk: trunk, initializer: &initializer)
        try assign(model, from: weights, family: config.family, ignoring: ["lm_head.weight"], skip: fresh ? ["score.weight"] : [])
        if !fresh, model.score.weight.shape != [1, config.hiddenSize] {
            throw .weights(file: dir, detail: "score.weight must be (1, \(config.hiddenSize)) (num_labels = 1)")
        }
        model.trunk.originalConfig = raw
        return (model, fresh)
    }

    /// A LoRA reward model or critic: the base that `dir`'s adapter_config.json records, the
    /// adapters attached (base frozen) and the saved score head in place.
    public static func loadScalarHeadAdapter(_ dir: String) throws(ModelError) -> (model: ScalarHeadModel, adapters: LoRAAdapters) {
        let base = try LoRAFiles.recordedBase(ofAdapter: dir)
        let (model, _) = try loadScalarHead(base)   // a fresh head if the base has none: the adapter's replaces it
        return (model, try LoRAFiles.load(dir, onto: model))
    }

    static func assign(_ model: Module, from weights: SafeTensorsCollection, family: ModelFamily,
                       ignoring: Set<String>, skip: Set<String> = []) throws(ModelError) {
        var used = Set<String>()
        let prefix = WeightMap.trunkPrefix(family)
        for (path, param) in model.namedParameters() {
            let (hf, transposed) = WeightMap.hfName(path, family: family)
            if skip.contains(hf) { continue }
            // Some GPT-2 exports (the original hub files) omit the "transformer." prefix.
            var name = hf
            if !weights.contains(name), hf.hasPrefix(prefix), weights.contains(String(hf.dropFirst(prefix.count))) {
                name = String(hf.dropFirst(prefix.count))
            }
            guard weights.contains(name) else {
                throw .weights(file: weights.path, detail: "missing tensor \"\(hf)\" (expected shape \(shapeString(transposed ? param.shape.reversed() : param.shape)))")
            }
            var t: Tensor
            do { t = try weights.tensor(named: name) } catch { throw .underlying(error.description) }
            if transposed {
                guard t.rank == 2 else { throw .weights(file: weights.path, detail: "tensor \"\(name)\" has shape \(shapeString(t.shape)); expected \(shapeString(param.shape.reversed()))") }
                t = Kernels.permute(t, [1, 0])
            }
            guard t.shape == param.shape else {
                throw .weights(file: weights.path, detail: "tensor \"\(name)\" has shape \(shapeString(transposed ? t.shape.reversed() : t.shape)); the config implies \(shapeString(transposed ? param.shape.reversed() : param.shape))")
            }
            param.value = t
            param.name = hf
            used.insert(name)
        }
        let unexpected = weights.names.filter { !used.contains($0) && !ignoring.contains($0) && !skip.contains($0) && !WeightMap.isIgnorable($0) }
        // Some exports store a tied head anyway; it is ignored (the head is the embedding).
        let leftovers = unexpected.filter { $0 != "lm_head.weight" }
        if !leftovers.isEmpty {
            throw .weights(file: weights.path, detail: "unexpected tensors not used by this \(family.rawValue) model: \(leftovers.prefix(6).joined(separator: ", "))\(leftovers.count > 6 ? " (+\(leftovers.count - 6) more)" : "")")
        }
    }

    // MARK: - Saving

    /// Saves a causal LM as `*ForCausalLM`: config.json + model.safetensors (+ companion
    /// files copied from `companionsFrom`).
    public static func save(_ model: CausalLM, to dir: String, companionsFrom: String? = nil) throws(ModelError) {
        try write(model, config: model.config.hfDictionary(head: .causalLM, original: model.trunk.originalConfig),
                  to: dir, family: model.config.family, companionsFrom: companionsFrom)
    }

    /// Saves a scalar-head model as `*ForSequenceClassification` (num_labels = 1).
    public static func save(_ model: ScalarHeadModel, to dir: String, companionsFrom: String? = nil) throws(ModelError) {
        try write(model, config: model.config.hfDictionary(head: .sequenceClassification, original: model.trunk.originalConfig),
                  to: dir, family: model.config.family, companionsFrom: companionsFrom)
    }

    /// The (HF name, tensor) list a model saves, in our parameter order.
    public static func stateDict(_ model: Module, family: ModelFamily) -> [(name: String, tensor: Tensor)] {
        model.namedParameters().map { path, p in
            let (hf, transposed) = WeightMap.hfName(path, family: family)
            return (hf, transposed ? Kernels.permute(p.value, [1, 0]) : p.value)
        }
    }

    static func write(_ model: Module, config: [String: Any], to dir: String, family: ModelFamily,
                      companionsFrom: String?) throws(ModelError) {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: dir).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        let tmp = parent.appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: target.path, isDirectory: &isDir), !isDir.boolValue {
            throw .io(path: dir, detail: "exists and is a file; expected a model directory to replace, or a new path")
        }
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try fm.createDirectory(at: tmp, withIntermediateDirectories: false)
            let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            try json.write(to: tmp.appendingPathComponent("config.json"))
            try SafeTensorsWriter.write(stateDict(model, family: family), to: tmp.appendingPathComponent("model.safetensors").path,
                                        metadata: ["format": "pt"])
            if let src = companionsFrom {
                for f in companionFiles {
                    let from = URL(fileURLWithPath: src).appendingPathComponent(f)
                    if fm.fileExists(atPath: from.path) { try fm.copyItem(at: from, to: tmp.appendingPathComponent(f)) }
                }
            }
            if fm.fileExists(atPath: target.path) {
                let old = parent.appendingPathComponent(".\(target.lastPathComponent).old-\(getpid())")
                try? fm.removeItem(at: old)
                try fm.moveItem(at: target, to: old)
                try fm.moveItem(at: tmp, to: target)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: tmp, to: target)
            }
        } catch {
            try? fm.removeItem(at: tmp)
            throw .io(path: dir, detail: "could not save the model: \(error)")
        }
    }
}
