// DPOTrainer: direct preference optimisation (Rafailov et al. 2023) and its IPO / hinge /
// conservative / reference-free variants (docs/algorithms.md §7) on the shared training loop.
// A batch is preference groups, as for the reward model: every response is run once through
// the policy (and, without gradient, the frozen reference), its completion-token log-probs
// summed (averaged for IPO), and each comparison picks its two rows. Metrics use TRL's names
// (rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/*).
// With `peft` only the adapters train and, unless ref_model_path is named, the reference is the
// policy itself with its adapters switched off (no second copy of the weights).
// Leaves out precomputed reference log-probs (the reference runs alongside each batch).
import Data
import Distributed
import Foundation
import Models
import NN
import RLMath
import RunKit
import TensorCore
import Tokenizers

public final class DPOTrainer: CausalLMTraining {
    public let config: DPOConfig
    public let model: CausalLM
    /// The frozen pi_ref; nil when reference-free. With LoRA and no ref_model_path it is
    /// `model` itself, run with the adapters off.
    public let reference: CausalLM?
    public let adapters: LoRAAdapters?
    let adapterBase: String
    public let tokenizer: Tokenizer
    public let tokenizerDirectory: String
    let train: [PreferenceGroup]
    let eval: [PreferenceGroup]
    let collator: Collator

    /// Training preference groups (the loop's examples).
    public var trainCount: Int { train.count }

    public init(config: DPOConfig, log: (String) -> Void = { _ in }) throws {
        self.config = config
        try RunDirectory.checkLocation(config.training.outputDir)
        let bundle = try ModelBundle(directory: config.data.modelPath, tokenizerDirectory: config.data.tokenizerPath)
        model = bundle.model
        adapters = try config.data.adapters(bundle, file: "dpo config", seed: config.training.seed)
        adapterBase = EngineParts.absolutePath(bundle.directory)
        tokenizer = bundle.tokenizer
        tokenizerDirectory = config.data.tokenizerDirectory
        if config.referenceFree {
            reference = nil
        } else if adapters != nil && config.refModelPath == nil {
            reference = bundle.model
        } else {
            let ref = try ModelBundle(directory: config.refModelPath ?? config.data.modelPath, tokenizerDirectory: tokenizerDirectory).model
            for p in ref.parameters() { p.name = nil }
            guard ref.config.vocabSize == model.config.vocabSize else {
                throw ConfigError.invalidValue(file: "dpo config", field: "ref_model_path",
                                               message: "vocabulary of \(ref.config.vocabSize) tokens, the policy has \(model.config.vocabSize)")
            }
            reference = ref
        }
        let exTok = try config.data.exampleTokenizer(tokenizer)
        let (train, eval, report) = try config.data.preferenceGroups(exTok, minRatingGap: config.minRatingGap, seed: config.training.seed)
        self.train = train; self.eval = eval
        let comparisons = { (g: [PreferenceGroup]) in g.reduce(0) { $0 + $1.comparisonCount } }
        log("dpo: \(report.rows) rows -> \(comparisons(train)) / \(comparisons(eval)) train / eval comparisons, loss \(config.lossType.rawValue)"
            + " beta \(config.beta)\(config.referenceFree ? ", reference-free" : "")")
        collator = Collator(padId: bundle.padTokenId, paddingSide: .right, lossTokens: .completion)
    }

    public func batch(_ indices: [Int]) throws -> PreferenceBatch { try collator.collate(groups: indices.map { train[$0] }) }

    /// (R,) each row's completion log-prob under `m`: Σ_t log pi(y_t | y_<t) over completion
    /// tokens (the mean for IPO). Position t predicts token t + 1.
    func sequenceLogProbs(_ m: CausalLM, _ b: CollatedBatch) throws -> Variable {
        let (r, t) = (b.batch, b.time)
        let tokens = try TokenBatch(ids: b.ids, batch: r, time: t, attentionMask: b.attentionMask, positions: b.positions)
        let logits = try m.logits(hidden: try m.trunk(tokens))                   // (R, T, V)
        var targets = [Int32](repeating: 0, count: r * t)
        var weights = Tensor(zeros: [r, t])                                       // (R, T) completion tokens predicted at t
        for row in 0..<r {
            let count = (1..<t).reduce(0) { $0 + (b.lossMask[row * t + $1] != 0 ? 1 : 0) }
            guard count > 0 else { throw DataError.invalidArgument("dpo: a response of batch row \(row) has no completion token") }
            for k in 0..<(t - 1) where b.lossMask[row * t + k + 1] != 0 {
                targets[row * t + k] = b.labels[row * t + k + 1]
                weights[flat: row * t + k] = config.lossType == .ipo ? 1 / Float(count) : 1
            }
        }
        let lp = try tokenLogProbs(logits: logits, targets: targets)                // (R, T)
        return try (lp * Variable(weights)).sum(axis: 1)                           // (R,)
    }

    /// The DPO loss of a batch and TRL's statistics.
    func objective(_ p: PreferenceBatch) throws -> (result: PreferenceLossResult, stats: [(String, Double)]) {
        let table = try sequenceLogProbs(model, p.batch).reshaped([p.batch.batch, 1])   // (R, 1) log pi_theta(y)
        let refTable = try reference.map { ref in
            try Tape.noGrad {
                guard let adapters, ref === model else { return try sequenceLogProbs(ref, p.batch).value }
                return try adapters.withAdaptersDisabled { try sequenceLogProbs(ref, p.batch).value }
            }
        }  // (R,)
        let c = p.better.count
        let chosen = try embedding(p.better, shape: [c], table: table).reshaped([c])     // (C,)
        let rejected = try embedding(p.worse, shape: [c], table: table).reshaped([c])    // (C,)
        func pick(_ idx: [Int32]) throws -> Tensor? { try refTable.map { t in try Tensor(shape: [c], data: idx.map { t[flat: Int($0)] }) } }
        let refChosen = try pick(p.better), refRejected = try pick(p.worse)
        let result = try dpoLoss(config.loss, policyChosen: chosen, policyRejected: rejected, refChosen: refChosen,
                                 refRejected: refRejected, beta: config.beta)
        func mean(_ x: Tensor) -> Double { (0..<x.count).reduce(0.0) { $0 + Double(x[flat: $1]) } / Double(max(x.count, 1)) }
        let beta = Double(config.beta)
        let rc = mean(chosen.value) - (refChosen.map(mean) ?? 0), rr = mean(rejected.value) - (refRejected.map(mean) ?? 0)
        return (result, [("rewards/chosen", beta * rc), ("rewards/rejected", beta * rr), ("rewards/accuracies", Double(result.accuracy)),
                         ("rewards/margins", Double(result.meanMargin)), ("logps/chosen", mean(chosen.value)),
                         ("logps/rejected", mean(rejected.value))])
    }

    /// Comparisons: the loss and TRL's statistics are means over them.
    public func normalizerCount(_ p: PreferenceBatch) -> Int { p.better.count }

    public func loss(_ p: PreferenceBatch) throws -> (loss: Variable, metrics: [(String, Double)], tokens: Int) {
        let (r, stats) = try objective(p)
        return (r.loss, stats.map { ("train/\($0.0)", $0.1) }, p.batch.attentionMask.reduce(0) { $0 + Int($1) })
    }

    /// Loss and statistics over every held-out comparison (comparison-weighted means).
    public func evaluate() throws -> [(String, Double)] {
        guard !eval.isEmpty else { return [] }
        var sums: [String: Double] = [:], order: [String] = ["loss"], n = 0.0
        for start in stride(from: 0, to: eval.count, by: config.data.evalBatchSize) {
            let chunk = Array(eval[start..<min(eval.count, start + config.data.evalBatchSize)])
            let (r, stats) = try Tape.noGrad { try objective(try collator.collate(groups: chunk)) }
            let w = Double(chunk.reduce(0) { $0 + $1.comparisonCount })
            sums["loss", default: 0] += Double(r.loss.value.item) * w
            for (k, v) in stats {
                if sums[k] == nil { order.append(k) }
                sums[k, default: 0] += v * w
            }
            n += w
        }
        return order.map { ("eval/\($0)", sums[$0]! / n) }
    }

    var data: DatasetArguments { config.data }
    var settings: Any { config }
    var identityFiles: [String: String] {
        config.refModelPath.map { ["ref_model_config": TrainerIdentity.configFile(of: $0)] } ?? [:]
    }

    /// Trains; with a `communicator` of N ranks each takes its shard of every global batch.
    public func train(resume: Bool = false, stopAfter: Int? = nil, log: @escaping (String) -> Void = { _ in },
                      progress: ProgressReporter? = nil, communicator: any Communicator = SingleProcess()) throws -> TrainingSummary {
        try runTraining(args: config.training, trainCount: train.count, resume: resume, stopAfter: stopAfter, log: log, progress: progress,
                        communicator: communicator)
    }
}
