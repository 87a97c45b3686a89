// TrainerIdentity: the `RunIdentity` fields every trainer records in `run.json` — its settings
// (those that change the result), the starting model (config.json fingerprint, parameter names
// and shapes) and its data files (path, size, CRC) — so a resume with another model, other data
// or other settings is refused by name. Leaves out the tokenizer files (the model's fingerprint
// and the data's cover what a resume can get wrong in practice).
import Foundation
import Models
import NN
import RunKit
import TensorCore

enum TrainerIdentity {
    /// Settings a resume may change: where and how often things are written.
    static let mutableSettings: Set<String> = ["output_dir", "overwrite_output_dir", "logging_steps", "eval_steps", "save_steps",
                                               "save_total_limit"]

    /// `settings` is the trainer's config value; `files` maps a config key to the file it names.
    static func fields(settings: Any, model: String, parameters: [(String, Variable)], files: [String: String]) -> [String: String] {
        var f = RunIdentity.settings(of: settings, excluding: mutableSettings)
        let config = model.lowercased().hasSuffix(".gguf") ? model : configFile(of: model)
        f["model_config"] = RunIdentity.fingerprint(file: config)
        f["parameter_shapes"] = RunIdentity.fingerprint(text: parameters.map { "\($0.0) \($0.1.value.shape)" }.joined(separator: "\n"))
        for (key, path) in files { f[key] = RunIdentity.fingerprint(file: path) }
        return f
    }

    /// The file that says what a model folder is: config.json, or for an adapter folder given as
    /// the model (no config.json) its adapter_config.json.
    static func configFile(of dir: String) -> String {
        (dir as NSString).appendingPathComponent((try? LoRAFiles.isAdapterOnly(dir)) == true ? LoRAFiles.configName : "config.json")
    }
}
