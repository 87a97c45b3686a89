// CausalLMTraining: what the trainers of a causal-LM policy on a dataset (SFT, DPO) share —
// training-time dropout, saving and loading the model (a PEFT adapter folder with LoRA), and
// the run identity (settings, model, data files). Leaves out the loss and the batches (each
// trainer's own).
import Foundation
import Models
import NN
import RunKit
import TensorCore

protocol CausalLMTraining: TrainingTask {
    var model: CausalLM { get }
    /// LoRA on `model` (base frozen): then only these train and are saved.
    var adapters: LoRAAdapters? { get }
    /// base_model_name_or_path of the saved adapter (an absolute path).
    var adapterBase: String { get }
    var tokenizerDirectory: String { get }
    var data: DatasetArguments { get }
    /// The whole config, recorded in run.json.
    var settings: Any { get }
    /// Files besides the data whose change makes a resume another run (e.g. a reference model).
    var identityFiles: [String: String] { get }
}

extension CausalLMTraining {
    var identityFiles: [String: String] { [:] }

    public var parameters: [(String, Variable)] { adapters?.namedParameters() ?? model.namedParameters() }

    public func setTrainingRNG(_ rng: RowStreams?) {
        model.trunk.setDropout(rng, override: data.dropout)
        adapters?.setDropout(rng)   // the adapters' dropout sites are numbered apart from the trunk's
    }

    public func saveModel(to directory: URL) throws {
        if let adapters {
            try LoRAFiles.save(adapters, into: directory, baseModel: adapterBase, companionsFrom: tokenizerDirectory)
        } else {
            try ModelDirectory.save(model, to: directory.path, companionsFrom: tokenizerDirectory)
        }
    }

    public func loadModel(from directory: URL) throws {
        if let adapters { return try LoRAFiles.restore(adapters, from: directory.path) }
        let loaded = try ModelDirectory.loadCausalLM(directory.path)
        for ((_, p), (_, q)) in zip(model.namedParameters(), loaded.namedParameters()) { p.value = q.value }
    }

    public func runIdentityFields() -> [String: String] {
        TrainerIdentity.fields(settings: settings, model: data.modelPath, parameters: parameters,
                               files: data.identityFiles.merging(identityFiles) { a, _ in a })
    }
}

extension DatasetArguments {
    /// The data files a run reads, for run.json.
    var identityFiles: [String: String] {
        var files = ["train_file": trainFile]
        if let e = evalFile { files["eval_file"] = e }
        return files
    }
}
