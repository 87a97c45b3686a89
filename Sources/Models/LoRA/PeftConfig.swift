// PeftConfig: the LoRA settings, with PEFT's `LoraConfig` names — the `peft` section of a
// trainer config and the part of adapter_config.json this package reads. Decoding reads every
// key it knows (a strict decoder then rejects the rest); `validate` checks ranges and names.
// Leaves out PEFT's other methods (DoRA, LoHa, prompt tuning), rank/alpha patterns and
// modules_to_save: adapter files that use them are refused by `LoRAFiles.load`.

/// PEFT's task_type: a causal LM, or a one-label sequence classifier (reward model, critic)
/// whose score head is trained beside the adapters.
public enum LoRATask: String, Sendable, Equatable {
    case causalLM = "CAUSAL_LM"
    case sequenceClassification = "SEQ_CLS"
}

/// PEFT's `bias` option. Only "none" exists here: training biases would change the base
/// weights, which LoRA freezes.
public enum LoRABias: String, Codable, Sendable, Equatable {
    case none
}

public struct PeftConfig: Codable, Sendable, Equatable {
    /// Rank of the update (rows of A, columns of B).
    public var r = 8
    /// Scale numerator: the update is multiplied by lora_alpha / r (or / sqrt(r), rsLoRA).
    public var loraAlpha: Float = 8
    /// Dropout probability on each adapter's input while training; 0 = none.
    public var loraDropout: Float = 0
    /// Hugging Face module names to adapt (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj,
    /// down_proj; GPT-2: c_attn, c_proj, c_fc). nil = PEFT's default for the architecture
    /// (q_proj and v_proj; GPT-2: c_attn).
    public var targetModules: [String]?
    /// rsLoRA: scale by lora_alpha / sqrt(r) instead of lora_alpha / r.
    public var useRslora = false
    public var bias = LoRABias.none

    public init(r: Int = 8, loraAlpha: Float = 8, loraDropout: Float = 0, targetModules: [String]? = nil,
                useRslora: Bool = false, bias: LoRABias = .none) {
        self.r = r; self.loraAlpha = loraAlpha; self.loraDropout = loraDropout
        self.targetModules = targetModules; self.useRslora = useRslora; self.bias = bias
    }

    enum CodingKeys: String, CodingKey {
        case r, loraAlpha = "lora_alpha", loraDropout = "lora_dropout", targetModules = "target_modules"
        case useRslora = "use_rslora", bias
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PeftConfig()
        r = try c.decodeIfPresent(Int.self, forKey: .r) ?? d.r
        loraAlpha = try c.decodeIfPresent(Float.self, forKey: .loraAlpha) ?? d.loraAlpha
        loraDropout = try c.decodeIfPresent(Float.self, forKey: .loraDropout) ?? d.loraDropout
        targetModules = try c.decodeIfPresent([String].self, forKey: .targetModules)
        useRslora = try c.decodeIfPresent(Bool.self, forKey: .useRslora) ?? d.useRslora
        if let b = try c.decodeIfPresent(String.self, forKey: .bias) {
            guard let v = LoRABias(rawValue: b) else {
                throw DecodingError.dataCorruptedError(forKey: .bias, in: c, debugDescription:
                    "bias \"\(b)\" is not supported; only \"none\" (base biases stay frozen with the weights)")
            }
            bias = v
        }
    }

    /// The factor on B A x.
    public var scaling: Float {
        useRslora ? loraAlpha / Float(r).squareRoot() : loraAlpha / Float(r)
    }

    /// Module names each family accepts, and PEFT's defaults when target_modules is absent.
    public static func knownTargets(_ family: ModelFamily) -> [String] {
        family == .gpt2 ? ["c_attn", "c_proj", "c_fc"] : ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    }

    public static func defaultTargets(_ family: ModelFamily) -> [String] {
        family == .gpt2 ? ["c_attn"] : ["q_proj", "v_proj"]
    }

    /// The target names for `family`: the given ones, or PEFT's default.
    public func targets(for family: ModelFamily) -> [String] {
        targetModules ?? PeftConfig.defaultTargets(family)
    }

    /// Range checks; `file` and the field names (with `prefix`, e.g. "peft.") appear in errors.
    /// With `family`, every target name must be one that architecture has.
    public func validate(file: String, prefix: String = "", family: ModelFamily? = nil) throws(ModelError) {
        func bad(_ k: CodingKeys, _ m: String) -> ModelError { .config(file: file, detail: "\(prefix)\(k.rawValue): \(m)") }
        guard (1...65_536).contains(r) else { throw bad(.r, "\(r) must be in 1...65536") }
        guard loraAlpha.isFinite, loraAlpha > 0 else { throw bad(.loraAlpha, "\(loraAlpha) must be a finite number > 0") }
        guard loraDropout.isFinite, (0..<1).contains(loraDropout) else { throw bad(.loraDropout, "\(loraDropout) must be in [0, 1)") }
        if let t = targetModules, t.isEmpty { throw bad(.targetModules, "is empty; name at least one module (or omit it for PEFT's default)") }
        if let family {
            let known = PeftConfig.knownTargets(family)
            for name in targets(for: family) where !known.contains(name) {
                throw bad(.targetModules, "\"\(name)\" is not a module of a \(family.rawValue) model; expected some of \(known.joined(separator: ", "))")
            }
        }
    }
}
