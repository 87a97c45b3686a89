// GGUFModel: what a `.gguf` file gives a trainer or a command — the causal LM with every
// weight dequantized to Float32 (q/k permutation undone), its tokenizer, and the ids that
// end and pad a response. Every parameter must be found with the right shape and every
// tensor in the file used; anything else is an error naming the file and tensor.
// Leaves out keeping weights quantized (training needs Float32 anyway).
import Foundation
import Models
import NN
import TensorCore
import Tokenizers

public struct GGUFModel {
    public var path: String
    public var model: CausalLM
    public var tokenizer: Tokenizer
    /// eos, eot and eom ids from the metadata (else the tokenizer's eos).
    public var eosTokenIds: [Int32]
    public var padTokenId: Int32

    public init(path: String) throws(GGUFError) {
        self.path = path
        let file = try GGUFFile(path: path)
        model = try GGUFModel.loadCausalLM(file)
        tokenizer = try GGUFTokenizer.load(file)
        eosTokenIds = model.config.eosTokenIds.isEmpty ? (tokenizer.eosTokenId.map { [Int32($0)] } ?? []) : model.config.eosTokenIds.map(Int32.init)
        padTokenId = Int32(model.config.padTokenId ?? tokenizer.padTokenId ?? eosTokenIds.first.map(Int.init) ?? 0)
    }

    /// The causal LM of an opened file. Its `originalConfig` is the equivalent config.json,
    /// so `ModelDirectory.save` writes a directory transformers loads.
    public static func loadCausalLM(_ f: GGUFFile) throws(GGUFError) -> CausalLM {
        let config = try TransformerConfig.gguf(f)
        // Nothing is allocated until the tensors in the file can hold what the metadata claims.
        var elements = 0
        for t in f.tensors { elements = elements.addingReportingOverflow(t.elementCount).overflow ? Int.max : elements + t.elementCount }
        do {
            try config.checkAgainstCheckpoint(elementCount: elements) { path in GGUFWeightMap.ggufName(path).flatMap { f.info($0)?.shape } }
        } catch {
            throw TransformerConfig.sizeError(error, arch: config.modelType, file: f.path)
        }
        var placeholder = WeightInit.placeholder
        let model = CausalLM(config: config, initializer: &placeholder)
        var used: Set<String> = [GGUFWeightMap.ropeFactors]
        for (path, param) in model.namedParameters() {
            guard let name = GGUFWeightMap.ggufName(path) else {
                throw .unsupported(file: f.path, detail: "no GGUF name for parameter \(path)")
            }
            guard let info = f.info(name) else {
                throw .tensor(file: f.path, name: name, detail: "missing (expected shape \(shapeString(param.shape)))")
            }
            guard info.shape == param.shape else {
                throw .tensor(file: f.path, name: name, detail: "has shape \(shapeString(info.shape)); the metadata implies \(shapeString(param.shape))")
            }
            var t = try f.tensor(named: name)
            if let heads = GGUFWeightMap.permutationHeads(name, architecture: config.modelType, heads: config.heads, kvHeads: config.kvHeads) {
                let rowLength = t.rank == 2 ? t.shape[1] : 1
                guard t.shape[0] % (2 * heads) == 0 else {
                    throw .tensor(file: f.path, name: name, detail: "\(t.shape[0]) rows do not split into \(heads) heads of even size")
                }
                t = try! Tensor(shape: t.shape, data: GGUFWeightMap.unpermuteRows(t.scalars, heads: heads, rowLength: rowLength))
            }
            param.value = t
            param.name = name
            used.insert(name)
        }
        let unused = f.tensors.map(\.name).filter { !used.contains($0) }
        if !unused.isEmpty {
            throw .tensor(file: f.path, name: unused[0], detail: "not used by this \(config.modelType) model\(unused.count > 1 ? " (nor are \(unused.count - 1) more: \(unused.dropFirst().prefix(5).joined(separator: ", ")))" : "")")
        }
        model.trunk.originalConfig = try? TransformerConfig.ggufHFDictionary(config, file: f)
        return model
    }
}
