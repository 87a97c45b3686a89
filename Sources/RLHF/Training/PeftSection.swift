// PeftSection: the checks a trainer config's `peft` (or `critic_peft`) section gets at load —
// ranges, and the target module names against the model's architecture, read from the model
// folder's config.json — with errors naming the config file and `peft.<field>`. Leaves out
// models given as .gguf files or adapter folders (their names are checked when the adapters
// are attached, naming the same fields).
import Foundation
import Models

extension DatasetArguments {
    /// The LoRA adapters a supervised trainer of a causal LM trains (nil: the whole model).
    func adapters(_ bundle: ModelBundle, file: String, seed: UInt64) throws -> LoRAAdapters? {
        try PeftSection.adapters(peft, loaded: bundle.adapters, file: file, field: "peft", family: bundle.model.config.family) {
            try LoRAAdapters(attachingTo: bundle.model, config: $0, seed: seed &+ 13, file: file)
        }
    }
}

enum PeftSection {
    static func validate(_ peft: PeftConfig?, file: String, field: String, modelPath: String) throws {
        guard let peft else { return }
        let configFile = (modelPath as NSString).appendingPathComponent("config.json")
        var family: ModelFamily?
        if FileManager.default.fileExists(atPath: configFile) {
            family = try? TransformerConfig.load(configFile: configFile).0.family
        }
        try peft.validate(file: file, prefix: field + ".", family: family)
    }

    /// Adapters for `model` from the config's section, or those the model folder brought (an
    /// adapter folder given as the model continues training that adapter; a section that
    /// disagrees with it is an error). nil when neither.
    static func adapters(_ peft: PeftConfig?, loaded: LoRAAdapters?, file: String, field: String, family: ModelFamily,
                         attach: (PeftConfig) throws -> LoRAAdapters) throws -> LoRAAdapters? {
        if let loaded {
            if let peft, peft != loaded.config {
                throw ModelError.config(file: file, detail: "\(field): the model is an adapter folder with other LoRA settings "
                                        + "(\(loaded.config)); remove the section to continue that adapter, or start from its base")
            }
            return loaded
        }
        guard let peft else { return nil }
        try peft.validate(file: file, prefix: field + ".", family: family)
        return try attach(peft)
    }
}
