// RewardTrainer: Bradley-Terry reward modelling (SPEC 1.2). A scalar head on the trunk
// reads each prompt+response at its last real token; the loss is
// -mean log sigmoid(r(x, y_w) - r(x, y_l) - margin) (+ optional reward centring).
// Reports pairwise accuracy and mean margin; saves a *ForSequenceClassification directory.
import Data
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
    public let tokenizer: Tokenizer
    public let tokenizerDirectory: String
    let train: [PreferencePair]
    let eval: [PreferencePair]
    let collator: Collator

    public var parameters: [(String, Variable)] { model.namedParameters() }

    public init(config: RewardConfig, log: (String) -> Void = { _ in }) throws {
        self.config = config
        let (m, fresh) = try ModelDirectory.loadScalarHead(config.data.modelPath, seed: config.training.seed)
        model = m
        tokenizerDirectory = config.data.tokenizerPath ?? config.data.modelPath
        tokenizer = try ModelBundle.loadTokenizer(tokenizerDirectory)
        if fresh { log("reward: new score head on \(config.data.modelPath), score.weight ~ N(0, \(m.config.initializerRange))") }
        let options = ExampleTokenizer.Options(truncation: TruncationPolicy(maxLength: config.data.maxLength, maxPromptLength: config.data.maxPromptLength))
        let exTok = try ExampleTokenizer(tokenizer: tokenizer, options: options)
        let (pairs, report) = try exTok.preferences(try PreferenceRow.load(URL(fileURLWithPath: config.data.trainFile)))
        if let evalFile = config.data.evalFile {
            train = pairs
            eval = try exTok.preferences(try PreferenceRow.load(URL(fileURLWithPath: evalFile))).pairs
        } else {
            let split = try DataSplit(count: pairs.count, evalFraction: config.data.evalFraction, seed: config.training.seed)
            train = split.train.map { pairs[$0] }
            eval = split.eval.map { pairs[$0] }
        }
        log("reward: \(report.rows) rows -> \(train.count) train / \(eval.count) eval pairs (\(report.truncated) truncated)")
        let pad = Collator.padId(for: tokenizer) ?? Int32(m.config.padTokenId ?? 0)
        collator = Collator(padId: pad, paddingSide: .right, lossTokens: .all)
    }

    public func batch(_ indices: [Int]) throws -> CollatedBatch { try collator.collate(pairs: indices.map { train[$0] }) }

    /// Chosen rows first, then rejected rows (the collator's layout).
    func preference(_ b: CollatedBatch) throws -> PreferenceLossResult {
        let batch = try TokenBatch(ids: b.ids, batch: b.batch, time: b.time, attentionMask: b.attentionMask, positions: b.positions)
        let scores = try model.lastTokenScores(batch)                          // (2n,)
        let n = b.batch / 2
        let margin = config.margin != 0 ? Tensor(shape: [n], repeating: config.margin) : nil
        return try bradleyTerryLoss(chosen: scores.sliced(axis: 0, 0..<n), rejected: scores.sliced(axis: 0, n..<(2 * n)),
                                    margin: margin, centerCoefficient: config.centerRewardsCoefficient)
    }

    public func loss(_ b: CollatedBatch) throws -> (loss: Variable, metrics: [(String, Double)], tokens: Int) {
        let r = try preference(b)
        return (r.loss, [("train/accuracy", Double(r.accuracy)), ("train/margin", Double(r.meanMargin))],
                b.attentionMask.reduce(0) { $0 + Int($1) })
    }

    /// Pairwise accuracy, mean margin and loss over every held-out pair.
    public func evaluate() throws -> [(String, Double)] {
        guard !eval.isEmpty else { return [] }
        var loss = 0.0, acc = 0.0, margin = 0.0
        for start in stride(from: 0, to: eval.count, by: config.data.evalBatchSize) {
            let chunk = Array(eval[start..<min(eval.count, start + config.data.evalBatchSize)])
            let r = try Tape.noGrad { try preference(try collator.collate(pairs: chunk)) }
            let w = Double(chunk.count)
            loss += Double(r.loss.value.item) * w; acc += Double(r.accuracy) * w; margin += Double(r.meanMargin) * w
        }
        let n = Double(eval.count)
        return [("eval/loss", loss / n), ("eval/accuracy", acc / n), ("eval/margin", margin / n)]
    }

    public func setTrainingRNG(_ rng: Philox?) {
        model.trunk.setDropout(rng, override: config.data.dropout)
    }

    public func saveModel(to directory: URL) throws {
        try ModelDirectory.save(model, to: directory.path, companionsFrom: tokenizerDirectory)
    }

    public func loadModel(from directory: URL) throws {
        let (loaded, _) = try ModelDirectory.loadScalarHead(directory.path)
        for ((_, p), (_, q)) in zip(model.namedParameters(), loaded.namedParameters()) { p.value = q.value }
    }

    public func train(resume: Bool = false, stopAfter: Int? = nil, log: @escaping (String) -> Void = { _ in },
                      progress: ProgressReporter? = nil) throws -> TrainingSummary {
        try runTraining(args: config.training, trainCount: train.count, resume: resume, stopAfter: stopAfter, log: log, progress: progress)
    }
}
