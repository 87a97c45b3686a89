// LoRAFiles: adapters as PEFT saves them — adapter_config.json (LoraConfig's fields) and
// adapter_model.safetensors (keys "base_model.model.<module>.lora_A.weight" / ".lora_B.weight",
// A (r, in), B (out, r) for nn.Linear and GPT-2's Conv1D alike) — which
// `peft.PeftModel.from_pretrained(base, dir)` loads. A reward model or critic is PEFT's SEQ_CLS
// task: its score head is saved too (modules_to_save ["score"], key base_model.model.score.weight).
// Reading refuses what this package does not implement (DoRA, rank patterns, other
// modules_to_save, ...) by name. Leaves out publishing: `save`
// fills a new folder; callers move it into place (RunKit's DirectoryPublish, ModelDirectory).
import Foundation
import NN
import SafeTensors
import TensorCore

public enum LoRAFiles {
    public static let configName = "adapter_config.json"
    public static let weightsName = "adapter_model.safetensors"

    /// Whether `dir` holds an adapter (an adapter_config.json).
    public static func isAdapterDirectory(_ dir: String) -> Bool {
        FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(configName))
    }

    // MARK: - Writing

    /// adapter_config.json as PEFT writes it for these adapters; `baseModel` is recorded as
    /// base_model_name_or_path (what `ModelBundle` loads when given only the adapter folder).
    public static func configDictionary(_ adapters: LoRAAdapters, baseModel: String?) -> [String: Any] {
        let c = adapters.config
        // PEFT stores target_modules as a set; the names we matched, sorted, say the same.
        let targets = c.targets(for: adapters.model.config.family).sorted()
        return [
            "peft_type": "LORA", "task_type": adapters.task.rawValue, "r": c.r, "lora_alpha": Double(c.loraAlpha),
            "lora_dropout": Double(c.loraDropout), "target_modules": targets, "use_rslora": c.useRslora,
            "bias": c.bias.rawValue, "fan_in_fan_out": adapters.model.config.family == .gpt2,
            "base_model_name_or_path": baseModel.map { $0 as Any } ?? NSNull(), "inference_mode": true,
            "init_lora_weights": true, "use_dora": false,
            "modules_to_save": adapters.scoreHead == nil ? NSNull() : ["score"] as Any, "layers_to_transform": NSNull(),
            "layers_pattern": NSNull(), "rank_pattern": [String: Any](), "alpha_pattern": [String: Any](),
            "revision": NSNull(), "auto_mapping": NSNull(),
        ]
    }

    /// Writes adapter_config.json and adapter_model.safetensors into `dir`, which must not
    /// exist yet (a staging folder): nothing the user owns is overwritten here. Tokenizer and
    /// generation files found in `companionsFrom` are copied beside them.
    public static func save(_ adapters: LoRAAdapters, into dir: URL, baseModel: String?,
                            companionsFrom: String? = nil) throws(ModelError) {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: dir.path) else {
            throw .io(path: dir.path, detail: "exists; adapters are written into a new folder and then moved into place")
        }
        do {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            let json = try JSONSerialization.data(withJSONObject: configDictionary(adapters, baseModel: baseModel),
                                                  options: [.prettyPrinted, .sortedKeys])
            try json.write(to: dir.appendingPathComponent(configName))
            let tensors = adapters.namedParameters().map { (name: $0.0, tensor: $0.1.value) }
            try SafeTensorsWriter.write(tensors, to: dir.appendingPathComponent(weightsName).path, metadata: ["format": "pt"])
            if let src = companionsFrom {
                for f in ModelDirectory.companionFiles {
                    let from = URL(fileURLWithPath: src).appendingPathComponent(f)
                    if fm.fileExists(atPath: from.path) { try fm.copyItem(at: from, to: dir.appendingPathComponent(f)) }
                }
            }
        } catch {
            throw .io(path: dir.path, detail: "could not save the adapter: \(error)")
        }
    }

    // MARK: - Reading

    /// The task_type adapter_config.json names (nil: unreadable or another task).
    public static func task(ofAdapter dir: String) -> LoRATask? {
        let file = (dir as NSString).appendingPathComponent(configName)
        guard let data = FileManager.default.contents(atPath: file),
              let d = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        switch d["task_type"] {
        case nil, is NSNull: return .causalLM
        case let t as String: return LoRATask(rawValue: t)
        default: return nil
        }
    }

    /// What adapter_config.json says: the settings, and the base it was trained on (if recorded).
    /// `task`: the task the caller loads it as (a causal-LM adapter onto a reward model, or the
    /// reverse, is refused naming task_type); nil accepts either.
    public static func loadConfig(_ dir: String, family: ModelFamily? = nil,
                                  task: LoRATask? = nil) throws(ModelError) -> (PeftConfig, baseModel: String?) {
        let file = (dir as NSString).appendingPathComponent(configName)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .io(path: file, detail: "cannot read the adapter config (expected a PEFT adapter folder with \(configName))")
        }
        guard let d = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .config(file: file, detail: "not a JSON object")
        }
        func bad(_ key: String, _ m: String) -> ModelError { .unsupported(file: file, detail: "\(key): \(m)") }
        func isUnset(_ key: String) -> Bool {
            switch d[key] {
            case nil, is NSNull: return true
            case let b as Bool: return !b
            case let m as [String: Any]: return m.isEmpty
            case let a as [Any]: return a.isEmpty
            default: return false
            }
        }
        if let t = d["peft_type"], (t as? String) != "LORA" { throw bad("peft_type", "\(t) is not supported; only LORA") }
        let found: LoRATask
        switch d["task_type"] {
        case nil, is NSNull: found = .causalLM
        case let t as String where LoRATask(rawValue: t) != nil: found = LoRATask(rawValue: t)!
        case let t?: throw bad("task_type", "\(t) is not supported; only CAUSAL_LM, or SEQ_CLS for a reward model or critic")
        }
        if let task, task != found {
            throw bad("task_type", found == .sequenceClassification
                      ? "SEQ_CLS: this is a reward-model (or critic) adapter with a score head, not a causal-LM adapter"
                      : "\(found.rawValue): a causal-LM adapter has no score head; a reward model or critic needs a SEQ_CLS adapter")
        }
        // SEQ_CLS: PEFT trains and saves the head beside the adapters. It lists "classifier" too
        // (a name other architectures use); "score" must be there and nothing else is accepted.
        if found == .sequenceClassification {
            let list = d["modules_to_save"] as? [String] ?? []
            guard list.contains("score"), Set(list).isSubset(of: ["score", "classifier"]) else {
                throw bad("modules_to_save", "\(d["modules_to_save"] ?? "null"): a SEQ_CLS adapter must save exactly "
                          + "the score head ([\"score\"], PEFT also lists \"classifier\")")
            }
        }
        // Options that change what the weights mean: refused unless off or empty.
        for key in ["use_dora", "rank_pattern", "alpha_pattern", "modules_to_save", "layers_to_transform",
                    "layer_replication", "lora_bias", "trainable_token_indices", "target_parameters", "use_qalora",
                    "exclude_modules", "alora_invocation_tokens"]
        where !isUnset(key) && !(key == "modules_to_save" && found == .sequenceClassification) {
            throw bad(key, "is set (\(d[key]!)); this package implements plain LoRA on projection layers only")
        }
        var c = PeftConfig()
        guard let r = d["r"] as? Int else { throw .config(file: file, detail: "r: expected an integer") }
        c.r = r
        guard let alpha = d["lora_alpha"] as? Double else { throw .config(file: file, detail: "lora_alpha: expected a number") }
        c.loraAlpha = Float(alpha)
        c.loraDropout = Float(d["lora_dropout"] as? Double ?? 0)
        c.useRslora = d["use_rslora"] as? Bool ?? false
        if let b = d["bias"] as? String {
            guard let v = LoRABias(rawValue: b) else { throw bad("bias", "\"\(b)\" is not supported; only \"none\"") }
            c.bias = v
        }
        switch d["target_modules"] {
        case let list as [String]: c.targetModules = list
        case let s as String where s == "all-linear":
            guard let family else { throw bad("target_modules", "\"all-linear\" needs the base model's architecture") }
            c.targetModules = PeftConfig.knownTargets(family)
        case let s as String:
            throw bad("target_modules", "\"\(s)\" is a regular expression in PEFT; list the module names instead")
        default:
            c.targetModules = nil
        }
        try c.validate(file: file, family: family)
        return (c, d["base_model_name_or_path"] as? String)
    }

    /// Attaches the adapter stored in `dir` to `model` (freezing its base). Every adapted
    /// layer's A and B must be in the file with the shapes the config implies, and every
    /// tensor in the file must be used.
    public static func load(_ dir: String, onto model: CausalLM) throws(ModelError) -> LoRAAdapters {
        try load(dir, onto: model, scoreHead: nil)
    }

    /// Attaches a SEQ_CLS adapter (PEFT's reward-model format) to a scalar-head model: the
    /// adapters go on its trunk and the file's score head replaces the model's.
    public static func load(_ dir: String, onto model: ScalarHeadModel) throws(ModelError) -> LoRAAdapters {
        try load(dir, onto: CausalLM(trunk: model.trunk, lmHead: nil), scoreHead: model.score)
    }

    static func load(_ dir: String, onto model: CausalLM, scoreHead: Linear?) throws(ModelError) -> LoRAAdapters {
        let (config, _) = try loadConfig(dir, family: model.config.family,
                                         task: scoreHead == nil ? .causalLM : .sequenceClassification)
        let path = (dir as NSString).appendingPathComponent(weightsName)
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .underlying(error.description) }
        var used = Set<String>()
        let names = Dictionary(uniqueKeysWithValues: LoRAAdapters.namedProjections(model).map { (ObjectIdentifier($0.1), $0.0) })
        var head: Tensor?
        if let scoreHead {
            let key = LoRAAdapters.scoreKey
            guard file.contains(key) else {
                throw .weights(file: path,
                               detail: "missing tensor \"\(key)\" (the score head, shape \(shapeString(scoreHead.weight.shape)))")
            }
            do throws(SafeTensorsError) { head = try file.tensor(named: key) } catch { throw .underlying(error.description) }
            guard head!.shape == scoreHead.weight.shape else {
                throw .weights(file: path, detail: "tensor \"\(key)\" has shape \(shapeString(head!.shape)); "
                               + "the model's score head is \(shapeString(scoreHead.weight.shape)) (num_labels = 1)")
            }
            used.insert(key)
        }
        let adapters = try LoRAAdapters(model: model, scoreHead: scoreHead, config: config,
                                        file: path) { layer, control throws(ModelError) in
            let module = LoRAAdapters.keyPrefix + names[ObjectIdentifier(layer)]!
            func read(_ key: String, _ shape: [Int]) throws(ModelError) -> Tensor {
                guard file.contains(key) else {
                    throw .weights(file: path, detail: "missing tensor \"\(key)\" (expected shape \(shapeString(shape)))")
                }
                let t: Tensor
                do throws(SafeTensorsError) { t = try file.tensor(named: key) } catch { throw .underlying(error.description) }
                guard t.shape == shape else {
                    throw .weights(file: path, detail: "tensor \"\(key)\" has shape \(shapeString(t.shape)); r = \(config.r) "
                                   + "and the layer imply \(shapeString(shape))")
                }
                used.insert(key)
                return t
            }
            let a = try read(module + ".lora_A.weight", [config.r, layer.inFeatures])
            let b = try read(module + ".lora_B.weight", [layer.outFeatures, config.r])
            do {
                return try LoRA(a: a, b: b, scaling: config.scaling, dropout: config.loraDropout, control: control)
            } catch { throw .underlying("\(path): \(module): \(error)") }
        }
        let unused = file.names.filter { !used.contains($0) }
        if !unused.isEmpty {
            // Undo the attachment: the caller's model must not stay half-adapted after an error.
            adapters.detach()
            throw .weights(file: path, detail: "unexpected tensors not used by target_modules \(config.targets(for: model.config.family)): "
                           + "\(unused.prefix(6).joined(separator: ", "))\(unused.count > 6 ? " (+\(unused.count - 6) more)" : "")")
        }
        if let scoreHead, let head { scoreHead.weight.value = head }
        return adapters
    }

    /// The base an adapter folder records (base_model_name_or_path), as a path that exists:
    /// absolute, or relative to the adapter folder. A hub id or a missing path is an error
    /// that says how to name the base instead.
    public static func recordedBase(ofAdapter dir: String) throws(ModelError) -> String {
        let file = (dir as NSString).appendingPathComponent(configName)
        let (_, recorded) = try loadConfig(dir)
        guard let recorded, !recorded.isEmpty else {
            throw .config(file: file, detail: "base_model_name_or_path is not set, so the base model is unknown; "
                          + "pass the base as the model and this folder as the adapter")
        }
        let path = recorded.hasPrefix("/") ? recorded : URL(fileURLWithPath: dir).appendingPathComponent(recorded).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw .config(file: file, detail: "base_model_name_or_path \"\(recorded)\" is not a local model (looked for \(path)); "
                          + "pass the base as the model and this folder as the adapter")
        }
        return path
    }

    /// Whether `dir` is an adapter folder standing for a whole model (adapter_config.json and no
    /// config.json), so its recorded base is loaded under it. A folder holding both is refused:
    /// one of them is stale (e.g. an adapter run written with overwrite over a full model's
    /// output, whose other files are kept), and either choice could load the wrong model.
    public static func isAdapterOnly(_ dir: String) throws(ModelError) -> Bool {
        guard isAdapterDirectory(dir) else { return false }
        let config = (dir as NSString).appendingPathComponent("config.json")
        guard !FileManager.default.fileExists(atPath: config) else {
            throw .config(file: config, detail: "the folder holds both a model (config.json) and an adapter (\(configName)); "
                          + "one is left from another run. Remove the stale one, or load the base and the adapter from separate folders")
        }
        return true
    }
}

extension LoRAFiles {
    /// Copies the A and B values saved in `dir` into adapters already attached (a checkpoint
    /// of the same run being resumed). The folder must hold exactly these adapters' keys and
    /// shapes; nothing is changed unless all of them are there.
    public static func restore(_ adapters: LoRAAdapters, from dir: String) throws(ModelError) {
        let path = (dir as NSString).appendingPathComponent(weightsName)
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .underlying(error.description) }
        let params = adapters.namedParameters()
        var values: [Tensor] = []
        for (key, p) in params {
            guard file.contains(key) else {
                throw .weights(file: path, detail: "missing tensor \"\(key)\" (expected shape \(shapeString(p.shape)))")
            }
            let t: Tensor
            do throws(SafeTensorsError) { t = try file.tensor(named: key) } catch { throw .underlying(error.description) }
            guard t.shape == p.shape else {
                throw .weights(file: path, detail: "tensor \"\(key)\" has shape \(shapeString(t.shape)); the attached adapter has \(shapeString(p.shape))")
            }
            values.append(t)
        }
        let known = Set(params.map(\.0))
        let unused = file.names.filter { !known.contains($0) }
        if !unused.isEmpty {
            throw .weights(file: path, detail: "unexpected tensors not in the attached adapters: \(unused.prefix(6).joined(separator: ", "))")
        }
        for ((_, p), t) in zip(params, values) { p.value = t }
    }
}
