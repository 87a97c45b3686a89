// The real-model recipe (`rlhf demo --model FILE.gguf|DIR`): after the shared stages 1-4 (split,
// demo tokenizer, SFT, RM and judge) a pretrained chat model continues the prompt words as one
// movie-review sentence; GRPO trains LoRA adapters on it against the RM, scored through the
// RM's own tokenizer (SnippetReward); then the base model and the policy answer the test and
// validation prompts for the same report. Leaves out PPO and DPO here (RealModelSettings says why).
import Data
import Foundation
import Generation
import Models
import RunKit
import TensorCore
import Tokenizers

/// A demo reward model scoring what a real model wrote as the RM was trained: the prompt words
/// and the response as one snippet, through the demo tokenizer, cut to the demo context, + EOS.
public final class SnippetReward: RewardSource {
    let model: ScalarHeadModel
    let tokenizer: Tokenizer
    let eos: Int32
    let context: Int
    /// The policy's decoded prompt (as the engine decodes it) -> the prompt words it ends with.
    let words: [String: String]
    public let name: String

    public init(model: ScalarHeadModel, tokenizer: Tokenizer, eos: Int32, context: Int, words: [String: String], name: String) {
        self.model = model; self.tokenizer = tokenizer; self.eos = eos; self.context = context; self.words = words; self.name = name
    }

    /// The text a response is scored as.
    public func snippet(prompt: String, response: String) throws -> String {
        guard let w = words[prompt] else {
            throw RewardError(message: "\(name): prompt \"\(prompt.suffix(60))\" is not one of the demo's prompts")
        }
        return w + response
    }

    public func scores(_ batch: RewardBatch) throws -> [Float] {
        let rows = try batch.prompts.indices.map { i in
            let text = try snippet(prompt: batch.prompts[i], response: batch.responses[i])
            return Array(tokenizer.encode(text).map(Int32.init).prefix(context - 1)) + [eos]
        }
        return try Tape.noGrad { try model.lastTokenScores(try TokenBatch.leftPadded(rows, padId: eos)).value.scalars }
    }
}

extension DemoRunner {
    /// Steps 5-7 on a pretrained chat model at `modelPath` (`bundle`: it, loaded).
    func runRealModel(_ modelPath: String, bundle: ModelBundle, shared s: SharedStages, start: Date) throws -> DemoResult {
        let r = config.real
        // 5. Policy: the chat model with fresh LoRA adapters (base frozen). The reference, in the
        //    engine and in the evaluation, is the policy with its adapters off: no second copy.
        guard !bundle.eosTokenIds.isEmpty else {
            throw DocumentError(message: "\(modelPath): the model names no EOS token; the demo needs responses that end")
        }
        let adapters = try LoRAAdapters(attachingTo: bundle.model, config: r.peft, seed: config.seed, file: "demo --model")
        log("[5/7] \(modelPath): \(bundle.model.config.family), LoRA r \(r.peft.r) on \(r.peft.targetModules ?? []):"
            + " \(adapters.parameterCount) trainable of \(bundle.model.parameterCount + adapters.parameterCount)")

        // Prompts: the chat template with the instruction as the user turn, the assistant turn
        // opened with the prompt words (the model continues them).
        let (evalPrompts, validationPrompts, trainPrompts) = try promptSplits(s.data, count: r.evalPrompts)
        let tok = bundle.tokenizer
        let opening = try tok.applyChatTemplate([ChatMessage(role: "user", content: r.instruction)], addGenerationPrompt: true)
        func ids(_ w: String) -> [Int32] { tok.encode(opening + w, addSpecialTokens: false).map(Int32.init) }
        var words: [String: String] = [:]
        for w in evalPrompts + validationPrompts + trainPrompts {
            words[tok.decode(ids(w).map(Int.init), skipSpecialTokens: true)] = w
        }
        let promptFile = try writeJSONL(trainPrompts.map { ["prompt": $0] }, "data/ppo_prompts.jsonl")
        let train = trainPrompts.enumerated().map { i, w in
            PromptExample(ids: ids(w), source: SourceLine(file: promptFile, line: i + 1))
        }
        let rm = SnippetReward(model: s.rm.trainer.model, tokenizer: s.tokenizer, eos: s.eos, context: config.context,
                               words: words, name: "demo RM")
        let judge = SnippetReward(model: s.judge.trainer.model, tokenizer: s.tokenizer, eos: s.eos, context: config.context,
                                  words: words, name: "demo judge")

        var c = PPOConfig()
        c.sftModelPath = modelPath
        c.rewardModelPath = path("rm")
        c.outputDir = path("grpo")
        c.promptData = .file(promptFile)
        c.advantageEstimator = .grpo
        c.numGenerations = r.generations
        c.rolloutBatchSize = r.promptsPerIteration
        c.totalEpisodes = r.iterations * r.promptsPerIteration
        c.miniBatchSize = r.promptsPerIteration * r.generations
        c.ppoEpochs = r.epochs
        c.maxGenLen = r.maxGenLen
        c.temperature = r.temperature
        c.lrActor = r.lr
        c.klCoef = 0
        c.beta = r.beta
        c.missingEOSPenalty = 1
        c.maxPromptLength = train.map(\.ids.count).max() ?? 1
        c.seed = config.seed
        c.loggingSteps = 1
        try c.validate(file: "demo")
        let manifestPath = try writeManifest(s.data, halves: s.halves, evalPrompts: evalPrompts, validationPrompts: validationPrompts,
                                             stages: [
            "algorithms": ["grpo"],
            "base_model": modelPath,
            "grpo": ["reward_model_path": path("rm"), "prompts": "data/ppo_prompts.jsonl (training-split prefixes)",
                     "instruction": r.instruction, "policy": "grpo (LoRA adapter folder)", "lora_r": r.peft.r,
                     "lora_targets": r.peft.targetModules ?? [], "iterations": r.iterations, "lr": Double(r.lr),
                     "beta": Double(r.beta), "temperature": Double(r.temperature)],
        ])
        let t0 = Date()
        let parts = EngineParts(actor: bundle.model, reference: bundle.model, critic: nil, reward: rm, tokenizer: tok,
                                tokenizerDirectory: nil, prompts: train, eosIds: bundle.eosTokenIds, padId: bundle.padTokenId,
                                adapters: adapters)
        let trainer = try PPOTrainer(config: c, parts: parts, log: log)
        let summary = try trainer.train(progress: ProgressReporter.standardError(total: c.iterations, label: "[5/7] grpo", unit: "iter"))
        let seconds = Date().timeIntervalSince(t0)
        log("[5/7] grpo: \(Int(seconds)) s (adapter: \(path("grpo")))")

        // 6. Test (and validation, apart): the base model (adapters off) and the policy answer the
        //    same prompts with the same random stream; both RMs score every response.
        let testLoss = (before: try sftLoss(s.sft, modelPath: path("sft-init"), file: s.testFile),
                        after: try sftLoss(s.sft, modelPath: path("sft"), file: s.testFile))
        let sampling = evalSampling(eos: bundle.eosTokenIds, pad: bundle.padTokenId, maxNewTokens: r.maxGenLen, temperature: r.temperature)
        let model = bundle.model
        func answer(_ prompts: [String], policy: Bool) throws -> (DemoEvaluation, [Row]) {
            let p = prompts.map(ids)
            if policy {
                return try evaluate(model, reference: model, adapters: adapters, prompts: p, scorers: (rm, judge), tokenizer: tok,
                                    sampling: sampling)
            }
            return try adapters.withAdaptersDisabled {
                try evaluate(model, reference: model, prompts: p, scorers: (rm, judge), tokenizer: tok, sampling: sampling)
            }
        }
        let (baseEval, baseRows) = try answer(evalPrompts, policy: false)
        let baseValidation = try answer(validationPrompts, policy: false).0
        let (test, rows) = try answer(evalPrompts, policy: true)
        let validation = try answer(validationPrompts, policy: true).0
        log("[6/7] grpo: validation RM score base \(fmt(baseValidation.rm.mean)) -> \(fmt(validation.rm.mean)), judge"
            + " \(fmt(baseValidation.judge.mean)) -> \(fmt(validation.judge.mean)); test RM \(fmt(baseEval.rm.mean)) ->"
            + " \(fmt(test.rm.mean)), judge \(fmt(baseEval.judge.mean)) -> \(fmt(test.judge.mean)); KL to base \(fmt(test.klToSFT)) nats")

        // 7. Report and samples: each response is shown as the snippet the RMs scored.
        let samples: [[String: Any]] = evalPrompts.indices.map { i in
            ["prompt": evalPrompts[i],
             "sft_response": evalPrompts[i] + baseRows[i].response, "sft_score": baseRows[i].rm, "sft_judge_score": baseRows[i].judge,
             "grpo_response": evalPrompts[i] + rows[i].response, "grpo_score": rows[i].rm, "grpo_judge_score": rows[i].judge]
        }
        let samplesPath = try writeJSONL(samples, "samples.jsonl")
        let policy = PolicyOutcome(algorithm: .grpo, test: test, validation: validation, seconds: seconds, history: summary.history,
                                   directory: path("grpo"))
        var result = DemoResult(splitSizes: (s.data.train.count, s.data.validation.count, s.data.test.count),
                                sftValidationLoss: s.sftValidationLoss, sftTestLoss: testLoss, rm: s.rm.accuracy,
                                judge: s.judge.accuracy, ppoPromptCount: trainPrompts.count, evalPromptCount: evalPrompts.count,
                                sft: baseEval, sftValidation: baseValidation, policies: [policy], reportPath: path("report.html"),
                                samplesPath: samplesPath, manifestPath: manifestPath)
        result.baseModel = modelPath
        try DemoReport.write(result, config: config, sft: s.sftSummary, rm: s.rm.summary, judge: s.judge.summary, samples: samples,
                             seconds: Date().timeIntervalSince(start), to: URL(fileURLWithPath: result.reportPath))
        log("[7/7] report: \(result.reportPath) (\(Int(Date().timeIntervalSince(start))) s in all)")
        return result
    }
}
