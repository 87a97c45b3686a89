// RewardTrainer: Bradley-Terry reward modelling (docs/algorithms.md §2-3). A scalar head on the trunk
// reads each prompt+response at its last real token; the loss is
// -mean log sigmoid(r(x, y_w) - r(x, y_l) - margin) over the batch's comparisons (+ optional
// reward centring). A batch is preference groups: a pair row is one comparison; a rated
// group of K responses gives all its comparisons from one forward pass of K sequences
// (InstructGPT trains on K-wise comparisons this way: each response once per epoch, which
// both saves compute and overfits less than the same comparisons shuffled as pairs).
// Reports pairwise accuracy and mean margin; saves a *ForSequenceClassification directory, or
// with `peft` a PEFT SEQ_CLS adapter folder (adapters on the trunk + the trained score head),
// which loads wherever a reward model does (ModelDirectory.loadScalarHead).
import Data
import Distributed
import Foundation
import Models
import NN
import RLMath
import RunKit
import TensorCore
import Tokenizers

public final class RewardTrainer: TrainingTask {
    public let config: RewardConfig
    public let model: ScalarHeadModel
    /// LoRA on the trunk, the score head trained with it (nil: the whole model trains).
    public let adapters: LoRAAdapters?
    let adapterBase: String
    public let tokenizer: Tokenizer
    public let tokenizerDirectory: String
    let train: [PreferenceGroup]
    let eval: [PreferenceGroup]
    let collator: Collator

    public var parameters: [(String, Variable)] { adapters?.namedParameters() ?? model.namedParameters() }

    public init(config: RewardConfig, log: (String) -> Void = { _ in }) throws {
        // A bad output path is reported before minutes of loading and tokenizing, not after.
        try RunDirectory.checkLocation(config.training.outputDir)
        self.config = config
        // A LoRA reward model (adapter folder) as model_path continues training that adapter.
        let m: ScalarHeadModel, fresh: Bool, loaded: LoRAAdapters?
        if try LoRAFiles.isAdapterOnly(config.data.modelPath) {
            (m, loaded) = try ModelDirectory.loadScalarHeadAdapter(config.data.modelPath)
            (fresh, adapterBase) = (false, try LoRAFiles.recordedBase(ofAdapter: config.data.modelPath))
        } else {
            (m, fresh) = try ModelDirectory.loadScalarHead(config.data.modelPath, seed: config.training.seed)
            (loaded, adapterBase) = (nil, EngineParts.absolutePath(config.data.modelPath))
        }
        model = m
        adapters = try PeftSection.adapters(config.data.peft, loaded: loaded, file: "reward config", field: "peft",
                                            family: m.config.family) {
            try LoRAAdapters(attachingTo: m, config: $0, seed: config.training.seed &+ 13, file: "reward config")
        }
        tokenizerDirectory = config.data.tokenizerDirectory
        tokenizer = try ModelBundle.loadTokenizer(tokenizerDirectory)
        if fresh { log("reward: new score head on \(config.data.modelPath), score.weight ~ N(0, \(m.config.initializerRange))") }
        let exTok = try config.data.exampleTokenizer(tokenizer)
        let (train, eval, report) = try config.data.preferenceGroups(exTok, minRatingGap: config.minRatingGap, seed: config.training.seed)
        self.train = train; self.eval = eval
        let comparisons = { (g: [PreferenceGroup]) in g.reduce(0) { $0 + $1.comparisonCount } }
        log("reward: \(report.rows) rows -> \(train.count) train / \(eval.count) eval rows, \(comparisons(train)) / \(comparisons(eval)) comparisons"
            + " (\(report.truncated) truncated\(report.skippedNoComparison.isEmpty ? "" : ", \(report.skippedNoComparison.count) rated rows without a comparison skipped"))")
        let pad = Collator.padId(for: tokenizer) ?? Int32(m.config.padTokenId ?? 0)
        collator = Collator(padId: pad, paddingSide: .right, lossTokens: .all)
    }

    public func batch(_ indices: [Int]) throws -> PreferenceBatch { try collator.collate(groups: indices.map { train[$0] }) }

    /// Scores each row once, then picks the two scores of every comparison.
    func preference(_ p: PreferenceBatch) throws -> PreferenceLossResult {
        let b = p.batch
        let batch = try TokenBatch(ids: b.ids, batch: b.batch, time: b.time, attentionMask: b.attentionMask, positions: b.positions)
        let table = try model.lastTokenScores(batch).reshaped([b.batch, 1])   // (B, 1): a lookup table of scores
        let c = p.better.count
        // Picking rows of a table is an embedding lookup; its backward adds up the gradient of
        // a response that is in several comparisons.
        let better = try embedding(p.better, shape: [c], table: table).reshaped([c])
        let worse = try embedding(p.worse, shape: [c], table: table).reshaped([c])
        let margin = config.margin != 0 ? Tensor(shape: [c], repeating: config.margin) : nil
        return try bradleyTerryLoss(chosen: better, rejected: worse, margin: margin, centerCoefficient: config.centerRewardsCoefficient)
    }

    /// Comparisons: the loss, accuracy and margin are means over them.
    public func normalizerCount(_ p: PreferenceBatch) -> Int { p.better.count }

    public func loss(_ p: PreferenceBatch) throws -> (loss: Variable, metrics: [(String, Double)], tokens: Int) {
        let r = try preference(p)
        return (r.loss, [("train/accuracy", Double(r.accuracy)), ("train/margin", Double(r.meanMargin))],
                p.batch.attentionMask.reduce(0) { $0 + Int($1) })
    }

    /// Pairwise accuracy, mean margin and loss over every held-out comparison.
    public func evaluate() throws -> [(String, Double)] {
        guard !eval.isEmpty else { return [] }
        var loss = 0.0, acc = 0.0, margin = 0.0, n = 0.0
        for start in stride(from: 0, to: eval.count, by: config.data.evalBatchSize) {
            let chunk = Array(eval[start..<min(eval.count, start + config.data.evalBatchSize)])
            let r = try Tape.noGrad { try preference(try collator.collate(groups: chunk)) }
            let w = Double(chunk.reduce(0) { $0 + $1.comparisonCount })
            loss += Double(r.loss.value.item) * w; acc += Double(r.accuracy) * w; margin += Double(r.meanMargin) * w
            n += w
        }
        return [("eval/loss", loss / n), ("eval/accuracy", acc / n), ("eval/margin", margin / n)]
    }

    public func setTrainingRNG(_ rng: RowStreams?) {
        model.trunk.setDropout(rng, override: config.data.dropout)
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
        let (loaded, _) = try ModelDirectory.loadScalarHead(directory.path)
        for ((_, p), (_, q)) in zip(model.namedParameters(), loaded.namedParameters()) { p.value = q.value }
    }

    public func runIdentityFields() -> [String: String] {
        TrainerIdentity.fields(settings: config, model: config.data.modelPath, parameters: parameters, files: config.data.identityFiles)
    }

    /// Trains; with a `communicator` of N ranks each takes its shard of every global batch.
    public func train(resume: Bool = false, stopAfter: Int? = nil, log: @escaping (String) -> Void = { _ in },
                      progress: ProgressReporter? = nil, communicator: any Communicator = SingleProcess()) throws -> TrainingSummary {
        try runTraining(args: config.training, trainCount: train.count, resume: resume, stopAfter: stopAfter, log: log, progress: progress,
                        communicator: communicator)
    }
}
