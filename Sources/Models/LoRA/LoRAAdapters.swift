// LoRAAdapters: LoRA on a causal LM's projection layers, picked by their Hugging Face module
// names (PeftConfig.targetModules). Attaching freezes every base parameter (no gradients, no
// optimizer state: optimise `parameters()` of this object, which lists only A and B under
// PEFT's key names); `withAdaptersDisabled` runs the bare base; `merge` folds the updates into
// the base weights. On a scalar-head model (reward model, critic) the score head stays trainable
// and is saved with the adapters, as PEFT's SEQ_CLS `modules_to_save`. Leaves out: adapters on
// heads/embeddings, several named adapters at once.
import NN
import TensorCore

public final class LoRAAdapters: Module {
    /// One adapted projection: its HF module name (e.g. "model.layers.0.self_attn.q_proj").
    public struct Site {
        public let module: String
        public let layer: Linear
        public let lora: LoRA
    }

    public let config: PeftConfig
    public let sites: [Site]
    /// Shared by every adapter here: on/off and the dropout generator.
    public let control: LoRASwitch
    /// The adapted causal LM; for a scalar-head model, a head-less causal-LM view of its trunk
    /// (same parameter objects), used for the trunk's layers, family and freezing only.
    public let model: CausalLM
    /// The trainable score head of a scalar-head model (PEFT: task_type SEQ_CLS, modules_to_save
    /// ["score"]); nil on a causal LM.
    public let scoreHead: Linear?

    /// PEFT's task_type for these adapters.
    public var task: LoRATask { scoreHead == nil ? .causalLM : .sequenceClassification }

    /// Fresh adapters (A random from `seed`, B zero: the output is unchanged until trained).
    public convenience init(attachingTo model: CausalLM, config: PeftConfig, seed: UInt64, file: String = "peft") throws(ModelError) {
        var rng = Philox(seed: seed)
        try self.init(model: model, config: config, file: file) { layer, control in
            LoRA(inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, rank: config.r, scaling: config.scaling,
                 dropout: config.loraDropout, control: control, rng: &rng)
        }
    }

    /// Fresh adapters on a reward model's or critic's trunk; its score head stays trainable
    /// and is one of `parameters()` (saved as PEFT's `base_model.model.score.weight`).
    public convenience init(attachingTo model: ScalarHeadModel, config: PeftConfig, seed: UInt64,
                            file: String = "peft") throws(ModelError) {
        var rng = Philox(seed: seed)
        let view = CausalLM(trunk: model.trunk, lmHead: nil)
        try self.init(model: view, scoreHead: model.score, config: config, file: file) { layer, control in
            LoRA(inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, rank: config.r, scaling: config.scaling,
                 dropout: config.loraDropout, control: control, rng: &rng)
        }
    }

    /// Attaches one adapter per target layer, built by `make`; freezes the base (not `scoreHead`).
    init(model: CausalLM, scoreHead: Linear? = nil, config: PeftConfig, file: String,
         make: (_ layer: Linear, _ control: LoRASwitch) throws(ModelError) -> LoRA) throws(ModelError) {
        let family = model.config.family
        try config.validate(file: file, family: family)
        if model.trunk.blocks.contains(where: { b in LoRAAdapters.projections(b).contains { $0.1.adapter != nil } }) {
            throw .config(file: file, detail: "this model already has LoRA adapters attached; merge or detach them first")
        }
        let control = LoRASwitch()
        let targets = config.targets(for: family)
        var sites: [Site] = []
        for (name, layer) in LoRAAdapters.namedProjections(model) {
            // PEFT's rule for a list: the full name equals a target or ends with "." + target.
            guard targets.contains(where: { name == $0 || name.hasSuffix("." + $0) }) else { continue }
            let lora = try make(layer, control)
            sites.append(Site(module: name, layer: layer, lora: lora))
        }
        for p in model.parameters() { p.requiresGrad = false }
        for s in sites { s.layer.adapter = s.lora }
        self.config = config; self.sites = sites; self.control = control; self.model = model; self.scoreHead = scoreHead
    }

    /// Every projection of the model with its HF module name, in layer order.
    public static func namedProjections(_ model: CausalLM) -> [(String, Linear)] {
        var out: [(String, Linear)] = []
        for (i, block) in model.trunk.blocks.enumerated() {
            for (path, layer) in projections(block) {
                // The weight's HF name less ".weight": the module name PEFT matches against.
                let hf = WeightMap.hfName("trunk.blocks.\(i).\(path).weight", family: model.config.family).name
                out.append((String(hf.dropLast(".weight".count)), layer))
            }
        }
        return out
    }

    static func projections(_ block: any DecoderBlock) -> [(String, Linear)] {
        if let g = block as? GPT2Block {
            return [("qkv", g.qkv), ("attnOut", g.attnOut), ("mlpUp", g.mlpUp), ("mlpDown", g.mlpDown)]
        }
        if let l = block as? LlamaBlock {
            return [("q", l.q), ("k", l.k), ("v", l.v), ("o", l.o), ("gate", l.gate), ("up", l.up), ("down", l.down)]
        }
        return []
    }

    /// PEFT's key prefix in adapter files: `base_model.model.` + module name.
    public static let keyPrefix = "base_model.model."

    /// A and B of every adapter under PEFT's keys, e.g.
    /// "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight".
    public func visitParameters(prefix: String, _ visit: (String, Variable) -> Void) {
        for s in sites { s.lora.visitParameters(prefix: joinPath(prefix, LoRAAdapters.keyPrefix + s.module), visit) }
        if let scoreHead { visit(joinPath(prefix, LoRAAdapters.scoreKey), scoreHead.weight) }
    }

    /// Where PEFT saves a SEQ_CLS model's score head (its modules_to_save copy, "default" dropped).
    public static let scoreKey = keyPrefix + "score.weight"

    /// Runs `body` on the bare base model (every adapter off), e.g. the frozen reference of
    /// DPO or RL. Restores the previous state afterwards, also when `body` throws.
    public func withAdaptersDisabled<R>(_ body: () throws -> R) rethrows -> R {
        let was = control.enabled
        control.enabled = false
        defer { control.enabled = was }
        return try body()
    }

    /// Training-time dropout on the adapters' inputs, each row from its stream in `rows` (nil: off).
    /// A trainer calls it where it calls `TransformerTrunk.setDropout`, with the same streams.
    public func setDropout(_ rows: RowStreams?) { control.dropoutRows = rows }

    /// Adds every update into its base weight (W += scaling B A, fan_in_fan_out handled by our
    /// (out, in) layout) and detaches the adapters: the model is then a plain model that
    /// `ModelDirectory.save` writes as such. Base parameters become trainable again.
    public func merge() {
        for s in sites {
            var w = s.layer.weight.value
            Kernels.addInPlace(&w, s.lora.deltaWeight())
            s.layer.weight.value = w
        }
        detach()
    }

    /// Removes the adapters from their layers (the model runs as the bare base again) and
    /// makes the base parameters trainable again.
    public func detach() {
        for s in sites { s.layer.adapter = nil }
        for p in model.parameters() { p.requiresGrad = true }
    }
}
