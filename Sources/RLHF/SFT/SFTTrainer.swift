// SFTTrainer: supervised fine-tuning of a causal LM (docs/algorithms.md §2): next-token cross-entropy
// on completion tokens only (prompt and padding masked), or on every token. Evaluates
// held-out loss and perplexity; saves an HF directory (with tokenizer files) at the top of
// output_dir at the end, or with `peft` a PEFT adapter folder (only the adapters train).
import Data
import Distributed
import Foundation
import Models
import NN
import RunKit
import TensorCore
import Tokenizers

public final class SFTTrainer: CausalLMTraining {
    public let config: SFTConfig
    public let model: CausalLM
    public let adapters: LoRAAdapters?
    let adapterBase: String
    public let tokenizer: Tokenizer
    public let tokenizerDirectory: String
    let train: [TokenizedExample]
    let eval: [TokenizedExample]
    let collator: Collator

    /// Loads the model, tokenizes both splits, and reports what truncation did via `log`.
    public init(config: SFTConfig, log: (String) -> Void = { _ in }) throws {
        // A bad output path is reported before minutes of loading and tokenizing, not after.
        try RunDirectory.checkLocation(config.training.outputDir)
        self.config = config
        let bundle = try ModelBundle(directory: config.data.modelPath, tokenizerDirectory: config.data.tokenizerPath)
        model = bundle.model
        adapters = try config.data.adapters(bundle, file: "sft config", seed: config.training.seed)
        adapterBase = EngineParts.absolutePath(bundle.directory)
        tokenizer = bundle.tokenizer
        tokenizerDirectory = config.data.tokenizerDirectory
        let exTok = try config.data.exampleTokenizer(tokenizer)
        let (examples, report) = try exTok.sft(try SFTRow.load(URL(fileURLWithPath: config.data.trainFile)))
        (train, eval) = try config.data.split(examples, seed: config.training.seed) { try exTok.sft(try SFTRow.load(URL(fileURLWithPath: $0))).examples }
        log("sft: \(report.rows) rows -> \(train.count) train / \(eval.count) eval examples (\(report.truncated) truncated)")
        collator = Collator(padId: bundle.padTokenId, paddingSide: .right, lossTokens: config.completionOnlyLoss ? .completion : .all)
    }

    public var trainCount: Int { train.count }

    public func batch(_ indices: [Int]) throws -> CollatedBatch { try collator.collate(indices.map { train[$0] }) }

    /// Scored tokens: CausalLM.loss is their mean.
    public func normalizerCount(_ b: CollatedBatch) -> Int { Self.scoredTokens(b) }

    public func loss(_ b: CollatedBatch) throws -> (loss: Variable, metrics: [(String, Double)], tokens: Int) {
        let batch = try TokenBatch(ids: b.ids, batch: b.batch, time: b.time, attentionMask: b.attentionMask, positions: b.positions)
        return (try model.loss(batch, labels: b.labels), [], b.attentionMask.reduce(0) { $0 + Int($1) })
    }

    /// Mean NLL over every scored held-out token, and its exp.
    public func evaluate() throws -> [(String, Double)] {
        guard !eval.isEmpty else { return [] }
        var total = 0.0, count = 0
        for start in stride(from: 0, to: eval.count, by: config.data.evalBatchSize) {
            let b = try collator.collate(Array(eval[start..<min(eval.count, start + config.data.evalBatchSize)]))
            let batch = try TokenBatch(ids: b.ids, batch: b.batch, time: b.time, attentionMask: b.attentionMask, positions: b.positions)
            let n = Self.scoredTokens(b)
            guard n > 0 else { continue }
            let loss = try Tape.noGrad { try model.loss(batch, labels: b.labels) }
            total += Double(loss.value.item) * Double(n); count += n
        }
        guard count > 0 else { return [] }
        let mean = total / Double(count)
        return [("eval/loss", mean), ("eval/perplexity", Foundation.exp(mean))]
    }

    /// Targets CausalLM.loss scores: label at t+1 set, position t real.
    static func scoredTokens(_ b: CollatedBatch) -> Int {
        var n = 0
        for r in 0..<b.batch {
            for t in 0..<(b.time - 1) where b.attentionMask[r * b.time + t] != 0 && b.labels[r * b.time + t + 1] != -100 { n += 1 }
        }
        return n
    }

    var data: DatasetArguments { config.data }
    var settings: Any { config }

    /// Trains, then writes the final model to the top of `<output_dir>`; with a `communicator`
    /// of N ranks each takes its shard of every global batch.
    public func train(resume: Bool = false, stopAfter: Int? = nil, log: @escaping (String) -> Void = { _ in },
                      progress: ProgressReporter? = nil, communicator: any Communicator = SingleProcess()) throws -> TrainingSummary {
        try runTraining(args: config.training, trainCount: train.count, resume: resume, stopAfter: stopAfter, log: log, progress: progress,
                        communicator: communicator)
    }
}
