// DemoRunner: the whole RLHF recipe on the bundled movie-review snippets, as a numbered
// recipe — 1. data  2. tokenizer  3. SFT  4. reward model and judge  5. policies (PPO, GRPO,
// DPO: whichever `algorithms` names)  6. test evaluation  7. report. Every stage writes a normal
// HF directory (or file) under the output folder, loadable by the other subcommands and by
// transformers.
import Foundation
import Generation
import Models
import RunKit
import TensorCore
import Tokenizers

/// Mean and standard deviation of one reward model's scores over the test prompts.
public struct ScoreStats: Sendable {
    public var mean: Double
    public var std: Double
}

public struct DemoEvaluation: Sendable {
    /// Under the reward model PPO optimised.
    public var rm: ScoreStats
    /// Under the judge: a second RM that PPO never saw (other training half, other seed).
    public var judge: ScoreStats
    public var meanLength: Double
    public var minLength: Int
    public var maxLength: Int
    public var eosRate: Double
    public var distinct2: Double
    /// Mean over responses of Σ_t log pi(a_t) - log pi_sft(a_t) (0 for the SFT model itself).
    public var klToSFT: Double
}

/// How often a reward model scores the higher-rated snippet higher, over every pair of a
/// split whose human ratings differ by >= 2.
public struct PairwiseAccuracy: Sendable {
    public var accuracy: Double
    public var pairs: Int
}

/// One policy-training method's outcome.
public struct PolicyOutcome: Sendable {
    public var algorithm: DemoAlgorithm
    /// Test prompts answered by its policy.
    public var test: DemoEvaluation
    /// Validation prompts answered by its policy (what settings are chosen by).
    public var validation: DemoEvaluation
    /// Wall time of its training stage, seconds.
    public var seconds: Double
    public var history: [MetricsRecord]
    public var directory: String
}

public struct DemoResult: Sendable {
    public var splitSizes: (train: Int, validation: Int, test: Int)
    /// SFT loss (nats/token) of the untrained and the trained model on each split.
    public var sftValidationLoss: (before: Double, after: Double)
    public var sftTestLoss: (before: Double, after: Double)
    public var rm: (validation: PairwiseAccuracy, test: PairwiseAccuracy)
    public var judge: (validation: PairwiseAccuracy, test: PairwiseAccuracy)
    /// Distinct training-split prompts PPO and GRPO drew from, and test prompts in the report.
    public var ppoPromptCount: Int
    public var evalPromptCount: Int
    /// Test prompts answered by the SFT model.
    public var sft: DemoEvaluation
    /// Validation prompts answered by the SFT model.
    public var sftValidation: DemoEvaluation
    /// Each trained policy, in `DemoConfig.algorithms` order.
    public var policies: [PolicyOutcome]
    public var reportPath: String
    public var samplesPath: String
    /// Where the split, the RM and judge halves, and the PPO reward model are recorded.
    public var manifestPath: String
    /// The real-model recipe's pretrained model (the report's baseline, the policy's LoRA base);
    /// nil: the bundled demo, whose baseline is its SFT model.
    public var baseModel: String? = nil

    public func policy(_ a: DemoAlgorithm) -> PolicyOutcome? { policies.first { $0.algorithm == a } }
}

public final class DemoRunner {
    public let config: DemoConfig
    let log: (String) -> Void
    let out: URL

    public init(config: DemoConfig, log: @escaping (String) -> Void = { _ in }) {
        self.config = config
        self.log = log
        out = URL(fileURLWithPath: config.outputDir)
    }

    func path(_ p: String) -> String { out.appendingPathComponent(p).path }

    /// Writes `rows` as JSON lines to `name` under the output folder; returns the full path.
    func writeJSONL(_ rows: [[String: Any]], _ name: String) throws -> String {
        let lines = try rows.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        let p = path(name)
        try (lines.joined(separator: "\n") + "\n").write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func writeSplit(_ s: [Snippet], _ name: String) throws -> String {
        try writeJSONL(s.map { ["id": $0.id, "rating": $0.rating, "text": $0.text] }, "data/\(name)")
    }

    /// What steps 1-4 leave: the split, the demo tokenizer, the SFT model, and the two reward
    /// models with their accuracies. The bundled policies and the real-model recipe both start here.
    struct SharedStages {
        var data: DemoData
        var tokenizer: Tokenizer
        var eos: Int32
        var sft: SFTConfig
        var sftSummary: TrainingSummary
        var sftValidationLoss: (before: Double, after: Double)
        var testFile: String
        var halves: (rm: [Snippet], judge: [Snippet])
        var rmEvalFile: String
        var rm: (trainer: RewardTrainer, summary: TrainingSummary, accuracy: (validation: PairwiseAccuracy, test: PairwiseAccuracy))
        var judge: (trainer: RewardTrainer, summary: TrainingSummary, accuracy: (validation: PairwiseAccuracy, test: PairwiseAccuracy))
    }

    public func run() throws -> DemoResult {
        let start = Date()
        // A real model is loaded first: a bad file fails now, not after the shared stages.
        let real = try config.model.map { try ModelBundle(directory: $0) }
        let shared = try sharedStages()
        if let real, let model = config.model { return try runRealModel(model, bundle: real, shared: shared, start: start) }
        let (data, tokenizer, eos, sft, sftSummary) = (shared.data, shared.tokenizer, shared.eos, shared.sft, shared.sftSummary)
        let (before, after) = shared.sftValidationLoss
        let (testFile, halves, rmEvalFile) = (shared.testFile, shared.halves, shared.rmEvalFile)
        let (rmTrainer, rmSummary, rmAccuracy) = shared.rm
        let (judgeTrainer, judgeSummary, judgeAccuracy) = shared.judge

        // 5. Policies from the SFT model. PPO and GRPO optimise the first RM on prompts that are
        //    the distinct first words of training snippets, leaving out every prompt step 6
        //    scores (test prompts for the results, validation prompts for choosing settings);
        //    DPO learns from the human-rated pairs the first RM learnt from, with no RM at all.
        let (evalPrompts, validationPrompts, trainPrompts) = try promptSplits(data, count: config.evalPrompts)
        let ppo = try rlConfig(.ppo, prompts: try writeJSONL(trainPrompts.map { ["prompt": $0] }, "data/ppo_prompts.jsonl"))
        let manifestPath = try writeManifest(data, halves: halves, ppo: ppo, evalPrompts: evalPrompts, validationPrompts: validationPrompts)
        var trained: [(algorithm: DemoAlgorithm, model: CausalLM, seconds: Double, history: [MetricsRecord])] = []
        for (k, algorithm) in config.algorithms.enumerated() {
            let t0 = Date()
            let stage = "[5/7] \(algorithm.rawValue) (\(k + 1)/\(config.algorithms.count))"
            let (model, history): (CausalLM, [MetricsRecord])
            switch algorithm {
            case .ppo, .grpo:
                var c = try rlConfig(algorithm, prompts: path("data/ppo_prompts.jsonl"))
                c.outputDir = path(algorithm.rawValue)
                try c.validate(file: "demo")
                guard c.rewardModelPath != path("judge") else { throw DocumentError(message: "demo: \(algorithm) must not optimise the judge") }
                let trainer = try PPOTrainer(config: c, log: log)
                let summary = try trainer.train(progress: ProgressReporter.standardError(total: c.iterations, label: stage, unit: "iter"))
                (model, history) = (trainer.actor, summary.history)
            case .dpo:
                let c = try dpoConfig(trainFile: path("data/rm_train.jsonl"), evalFile: rmEvalFile)
                let trainer = try DPOTrainer(config: c, log: log)
                let steps = SupervisedSteps<DPOTrainer>.totalSteps(c.training, trainCount: trainer.trainCount)
                let summary = try trainer.train(log: log, progress: ProgressReporter.standardError(total: steps, label: stage, unit: "step"))
                (model, history) = (trainer.model, summary.history)
            }
            let seconds = Date().timeIntervalSince(t0)
            trained.append((algorithm, model, seconds, history))
            log("\(stage): \(Int(seconds)) s (\(path(algorithm.rawValue)))")
        }

        // 6. Test: SFT loss on the test snippets, and the test prompts answered by the SFT model
        //    and every policy, each response scored by the optimised RM and by the judge. The
        //    validation prompts are answered the same way, apart: they are what settings are
        //    chosen by.
        let testLoss = (before: try sftLoss(sft, modelPath: path("sft-init"), file: testFile),
                        after: try sftLoss(sft, modelPath: path("sft"), file: testFile))
        let sftModel = try ModelDirectory.loadCausalLM(path("sft"))
        let evalPromptIds = evalPrompts.map { tokenizer.encode($0).map(Int32.init) }
        let validationIds = validationPrompts.map { tokenizer.encode($0).map(Int32.init) }
        let scorers = (rm: ModelReward(model: rmTrainer.model, tokenizer: nil, name: "demo RM"),
                       judge: ModelReward(model: judgeTrainer.model, tokenizer: nil, name: "demo judge"))
        let answer = { (m: CausalLM, prompts: [[Int32]]) in
            try self.evaluate(m, reference: sftModel, prompts: prompts, scorers: scorers, tokenizer: tokenizer,
                              sampling: self.evalSampling(eos: [eos], pad: eos, maxNewTokens: self.config.maxGenLen, temperature: 1))
        }
        let (sftEval, sftRows) = try answer(sftModel, evalPromptIds)
        let sftValidation = try answer(sftModel, validationIds).0
        var policies: [PolicyOutcome] = [], policyRows: [[Row]] = []
        for t in trained {
            let (test, rows) = try answer(t.model, evalPromptIds)
            let validation = try answer(t.model, validationIds).0
            policies.append(PolicyOutcome(algorithm: t.algorithm, test: test, validation: validation, seconds: t.seconds,
                                          history: t.history, directory: path(t.algorithm.rawValue)))
            policyRows.append(rows)
            log("[6/7] \(t.algorithm.rawValue): validation RM score SFT \(fmt(sftValidation.rm.mean)) -> \(fmt(validation.rm.mean)),"
                + " judge \(fmt(sftValidation.judge.mean)) -> \(fmt(validation.judge.mean)); test RM \(fmt(sftEval.rm.mean)) ->"
                + " \(fmt(test.rm.mean)), judge \(fmt(sftEval.judge.mean)) -> \(fmt(test.judge.mean)); KL to SFT \(fmt(test.klToSFT)) nats")
        }
        log("[6/7] test: SFT loss \(fmt(testLoss.after)); RM accuracy \(fmt(rmAccuracy.test.accuracy)),"
            + " judge \(fmt(judgeAccuracy.test.accuracy))")

        // 7. Report and samples.
        let samples: [[String: Any]] = evalPrompts.indices.map { i in
            var row: [String: Any] = ["prompt": evalPrompts[i], "sft_response": sftRows[i].response, "sft_score": sftRows[i].rm,
                                      "sft_judge_score": sftRows[i].judge]
            for (p, rows) in zip(policies, policyRows) {
                let name = p.algorithm.rawValue
                row["\(name)_response"] = rows[i].response
                row["\(name)_score"] = rows[i].rm
                row["\(name)_judge_score"] = rows[i].judge
            }
            return row
        }
        let samplesPath = try writeJSONL(samples, "samples.jsonl")
        let result = DemoResult(splitSizes: (data.train.count, data.validation.count, data.test.count),
                                sftValidationLoss: (before, after), sftTestLoss: testLoss, rm: rmAccuracy, judge: judgeAccuracy,
                                ppoPromptCount: trainPrompts.count, evalPromptCount: evalPrompts.count,
                                sft: sftEval, sftValidation: sftValidation, policies: policies,
                                reportPath: path("report.html"), samplesPath: samplesPath,
                                manifestPath: manifestPath)
        try DemoReport.write(result, config: config, sft: sftSummary, rm: rmSummary, judge: judgeSummary, samples: samples,
                             seconds: Date().timeIntervalSince(start), to: URL(fileURLWithPath: result.reportPath))
        log("[7/7] report: \(result.reportPath) (\(Int(Date().timeIntervalSince(start))) s in all)")
        return result
    }

    /// Steps 1-4: data, tokenizer, SFT, reward model and judge.
    func sharedStages() throws -> SharedStages {
        try FileManager.default.createDirectory(atPath: path("data"), withIntermediateDirectories: true)

        // 1. Data: one seeded permutation -> training / validation / test. Training and
        //    tuning look at validation only; test is scored once, in step 6.
        let data = DemoData(snippets: try DemoData.load(), validationFraction: config.validationFraction,
                            testFraction: config.testFraction, seed: config.seed)
        _ = try writeSplit(data.train, "train.jsonl")
        _ = try writeSplit(data.validation, "validation.jsonl")
        let testFile = try writeSplit(data.test, "test.jsonl")
        log("[1/7] data: \(data.train.count) training, \(data.validation.count) validation, \(data.test.count) test snippets")

        // 2. Tokenizer: byte-level BPE trained on the training snippets.
        let tokDir = path("tokenizer")
        try BPETrainer.train(texts: data.train.map(\.text), vocabSize: config.vocabSize).write(to: URL(fileURLWithPath: tokDir))
        let tokenizer = try Tokenizer(directory: URL(fileURLWithPath: tokDir))
        guard let eos = tokenizer.eosTokenId else { throw DocumentError(message: "demo tokenizer has no EOS token") }
        log("[2/7] tokenizer: \(tokenizer.vocabSize) tokens -> \(tokDir)")

        // 3. SFT: a small GPT from scratch on the training snippets (each snippet + EOS),
        //    evaluated on validation while it trains; its test loss is measured once after.
        var gpt = TransformerConfig.gpt2(vocabSize: tokenizer.vocabSize, hiddenSize: config.width, layers: config.layers,
                                         heads: config.heads, maxPositions: config.context)
        gpt.bosTokenId = eos; gpt.eosTokenIds = [eos]; gpt.padTokenId = eos
        // Dropout during SFT and RM training (saved as resid_pdrop/embd_pdrop; PPO never uses it).
        gpt.residualDropout = config.dropout; gpt.embeddingDropout = config.dropout
        var initializer = WeightInit.random(seed: config.seed)
        try ModelDirectory.save(CausalLM(config: gpt, initializer: &initializer), to: path("sft-init"), companionsFrom: tokDir)
        var sft = SFTConfig()
        sft.data.modelPath = path("sft-init")
        sft.data.trainFile = try writeJSONL(data.train.map { ["text": $0.text] }, "data/sft_train.jsonl")
        sft.data.evalFile = try writeJSONL(data.validation.map { ["text": $0.text] }, "data/sft_eval.jsonl")
        sft.data.maxLength = config.context
        sft.data.evalBatchSize = 64
        sft.training.outputDir = path("sft")
        sft.training.maxSteps = config.sftSteps
        sft.training.batchSize = config.sftBatch
        sft.training.learningRate = config.sftLR
        sft.training.warmupSteps = config.sftSteps / 20
        sft.training.lrSchedulerType = "cosine"
        sft.training.weightDecay = 0.01
        sft.training.loggingSteps = max(1, config.sftSteps / 40)
        sft.training.evalSteps = max(1, config.sftSteps / 8)
        sft.training.seed = config.seed
        let sftTrainer = try SFTTrainer(config: sft, log: log)
        let before = try sftTrainer.evaluate().first { $0.0 == "eval/loss" }?.1 ?? .nan
        let sftSummary = try sftTrainer.train(log: log, progress: ProgressReporter.standardError(total: config.sftSteps, label: "[3/7] sft",
                                                                                                 unit: "step"))
        let after = sftSummary.finalEval.first { $0.0 == "eval/loss" }?.1 ?? .nan
        log("[3/7] sft: validation loss \(fmt(before)) -> \(fmt(after)) (\(path("sft")))")

        // 4. Two reward models from the SFT model, each Bradley-Terry over every pair in a
        //    rated group whose human ratings differ by >= 2: the RM that PPO optimises learns
        //    from the first half of the training split, the judge from the second half with
        //    another seed. Both are evaluated on validation pairs while they train.
        let halves = data.rewardModelHalves
        let rmEvalGroups = DemoData.ratedGroups(Array(data.validation.prefix(512)), size: config.rmGroupSize, passes: 1,
                                                seed: config.seed &+ 1)
        let rmEvalFile = try writeJSONL(ratedRows(rmEvalGroups), "data/rm_eval.jsonl")
        let (rmTrainer, rmSummary) = try trainRewardModel("rm", snippets: halves.rm, seed: config.seed, evalFile: rmEvalFile,
                                                          stage: "[4/7] reward")
        let (judgeTrainer, judgeSummary) = try trainRewardModel("judge", snippets: halves.judge, seed: config.judgeSeed,
                                                                evalFile: rmEvalFile, stage: "[4/7] judge")
        let accuracy = { (m: ScalarHeadModel) in
            (validation: try self.allPairsAccuracy(m, tokenizer: tokenizer, snippets: data.validation, eos: Int32(eos)),
             test: try self.allPairsAccuracy(m, tokenizer: tokenizer, snippets: data.test, eos: Int32(eos)))
        }
        let rmAccuracy = try accuracy(rmTrainer.model), judgeAccuracy = try accuracy(judgeTrainer.model)
        log("[4/7] validation pairwise accuracy: RM \(fmt(rmAccuracy.validation.accuracy)), judge \(fmt(judgeAccuracy.validation.accuracy))"
            + " over \(rmAccuracy.validation.pairs) pairs (\(path("rm")), \(path("judge")))")

        return SharedStages(data: data, tokenizer: tokenizer, eos: Int32(eos), sft: sft, sftSummary: sftSummary,
                            sftValidationLoss: (before, after), testFile: testFile, halves: halves, rmEvalFile: rmEvalFile,
                            rm: (rmTrainer, rmSummary, rmAccuracy), judge: (judgeTrainer, judgeSummary, judgeAccuracy))
    }

    /// The first `promptWords` words of snippets as prompts: `count` distinct test prompts (the
    /// results), as many validation prompts (settings are chosen on them), and every other
    /// distinct training-split prefix for RL, none of them a test or validation prompt.
    func promptSplits(_ data: DemoData, count: Int) throws -> (test: [String], validation: [String], train: [String]) {
        let w = config.promptWords
        let evalPrompts = Array(DemoData.prompts(data.test, words: w).prefix(count))
        let validationPrompts = Array(DemoData.prompts(data.validation, words: w, excluding: Set(evalPrompts)).prefix(count))
        let scoredPrompts = Set(evalPrompts).union(validationPrompts)
        let trainPrompts = DemoData.prompts(data.train, words: w, excluding: scoredPrompts)
        guard Set(trainPrompts).isDisjoint(with: scoredPrompts), Set(evalPrompts).isDisjoint(with: validationPrompts) else {
            throw DocumentError(message: "demo: a test or validation prompt is also a PPO training prompt")
        }
        return (evalPrompts, validationPrompts, trainPrompts)
    }

    /// The RL engine's settings for PPO (the source article's recipe with a critic) or GRPO
    /// (no critic: groups of `grpoGenerations` responses, KL in the loss) on the demo's prompts.
    func rlConfig(_ algorithm: DemoAlgorithm, prompts: String) throws -> PPOConfig {
        var c = PPOConfig()
        c.sftModelPath = path("sft")
        c.rewardModelPath = path("rm")
        c.outputDir = path(algorithm.rawValue)
        c.promptData = .file(prompts)
        c.rolloutBatchSize = config.ppoRollout
        c.miniBatchSize = config.ppoMiniBatch
        c.ppoEpochs = 2
        c.totalEpisodes = config.ppoIterations * config.ppoRollout
        c.maxGenLen = config.maxGenLen
        c.lrActor = config.ppoLRActor
        c.missingEOSPenalty = 1
        c.maxPromptLength = 16
        c.seed = config.seed
        c.loggingSteps = 1
        if algorithm == .grpo {
            c.advantageEstimator = .grpo
            c.numGenerations = config.grpoGenerations
            c.rolloutBatchSize = config.ppoRollout / config.grpoGenerations
            c.totalEpisodes = config.ppoIterations * c.rolloutBatchSize
            c.klCoef = 0
            c.beta = config.grpoBeta
        } else {
            c.lrCritic = 3e-4
            c.klCoef = 0.1
            c.gamma = 1
            c.lambda = 0.95
            c.vfCoef = 0.1
            c.cliprangeValue = 0.2
        }
        return c
    }

    /// DPO from the SFT model on rated groups (every pair >= 2 rating points apart), one pass.
    func dpoConfig(trainFile: String, evalFile: String) throws -> DPOConfig {
        var c = DPOConfig()
        c.data.modelPath = path("sft")
        c.data.trainFile = trainFile
        c.data.evalFile = evalFile
        c.data.maxLength = config.context
        c.data.evalBatchSize = max(1, 64 / config.rmGroupSize)
        c.minRatingGap = 2
        c.beta = config.dpoBeta
        c.training.outputDir = path("dpo")
        c.training.numTrainEpochs = 1
        c.training.batchSize = config.dpoBatch
        c.training.learningRate = config.dpoLR
        c.training.lrSchedulerType = "linear"
        c.training.weightDecay = 0
        c.training.loggingSteps = 5
        c.training.seed = config.seed
        try c.validate(file: "demo")
        return c
    }

    func ratedRows(_ groups: [[Snippet]]) -> [[String: Any]] {
        groups.map { ["prompt": "", "completions": $0.map(\.text), "ratings": $0.map(\.rating)] }
    }

    /// Trains a reward model from the SFT model on rated groups of `snippets` into `name` (the model at its top);
    /// `evalFile` (validation groups) is what its during-training accuracy is measured on.
    func trainRewardModel(_ name: String, snippets: [Snippet], seed: UInt64, evalFile: String,
                          stage: String) throws -> (RewardTrainer, TrainingSummary) {
        let groups = DemoData.ratedGroups(snippets, size: config.rmGroupSize, passes: config.rmPasses, seed: seed)
        let steps = config.rmSteps(groups: groups.count)
        var rm = RewardConfig()
        rm.minRatingGap = 2
        rm.data.modelPath = path("sft")
        rm.data.trainFile = try writeJSONL(ratedRows(groups), "data/\(name)_train.jsonl")
        rm.data.evalFile = evalFile
        rm.data.maxLength = config.context
        rm.data.evalBatchSize = max(1, 64 / config.rmGroupSize)
        rm.training.outputDir = path(name)
        rm.training.maxSteps = steps
        rm.training.batchSize = config.rmBatch
        rm.training.learningRate = config.rmLR
        rm.training.warmupSteps = steps / 20
        rm.training.lrSchedulerType = "linear"
        rm.training.weightDecay = config.rmWeightDecay
        rm.training.loggingSteps = max(1, steps / 40)
        rm.training.evalSteps = max(1, steps / 8)
        rm.training.seed = seed
        let trainer = try RewardTrainer(config: rm, log: log)
        let summary = try trainer.train(log: log, progress: ProgressReporter.standardError(total: steps, label: stage, unit: "step"))
        return (trainer, summary)
    }

    /// SFT loss (nats/token) of the model at `modelPath` on `file`, measured exactly as the
    /// SFT trainer measures its validation loss.
    func sftLoss(_ base: SFTConfig, modelPath: String, file: String) throws -> Double {
        var c = base
        c.data.modelPath = modelPath; c.data.trainFile = file; c.data.evalFile = file
        return try SFTTrainer(config: c).evaluate().first { $0.0 == "eval/loss" }?.1 ?? .nan
    }

    /// data/manifest.json: which snippets and prompts each stage saw, so a reader (and
    /// DemoTests) can check that nothing reported was trained or tuned on.
    func writeManifest(_ data: DemoData, halves: (rm: [Snippet], judge: [Snippet]), ppo: PPOConfig,
                       evalPrompts: [String], validationPrompts: [String]) throws -> String {
        try writeManifest(data, halves: halves, evalPrompts: evalPrompts, validationPrompts: validationPrompts, stages: [
            "algorithms": config.algorithms.map(\.rawValue),
            "ppo": ["reward_model_path": ppo.rewardModelPath, "prompts": "data/ppo_prompts.jsonl (training-split prefixes)"],
            "grpo": ["reward_model_path": ppo.rewardModelPath, "prompts": "data/ppo_prompts.jsonl (training-split prefixes)"],
            "dpo": ["train_file": "data/rm_train.jsonl", "eval_file": "data/rm_eval.jsonl",
                    "note": "the optimised RM's rated groups (human ratings); DPO uses no reward model"],
        ])
    }

    /// The manifest's shared part (seed, splits, SFT, RM and judge data, scored prompts) plus
    /// `stages`, what the policy stages saw.
    func writeManifest(_ data: DemoData, halves: (rm: [Snippet], judge: [Snippet]), evalPrompts: [String],
                       validationPrompts: [String], stages: [String: Any]) throws -> String {
        var manifest: [String: Any] = [
            "seed": Int(config.seed),
            "splits": ["train": "data/train.jsonl", "validation": "data/validation.jsonl", "test": "data/test.jsonl"],
            "sft": ["train": "train", "eval": "validation", "reported": "test"],
            "reward_model": ["dir": path("rm"), "seed": Int(config.seed), "train_ids": halves.rm.map(\.id), "eval": "validation"],
            "judge": ["dir": path("judge"), "seed": Int(config.judgeSeed), "train_ids": halves.judge.map(\.id), "eval": "validation"],
            "test_prompts": evalPrompts,
            "validation_prompts": validationPrompts,
        ]
        manifest.merge(stages) { _, stage in stage }
        let p = path("data/manifest.json")
        try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .prettyPrinted]).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Scores every snippet of a split once (text + EOS, as the RM was trained) and counts,
    /// over all pairs with a rating gap >= 2, how often the higher-rated one scores higher.
    func allPairsAccuracy(_ model: ScalarHeadModel, tokenizer: Tokenizer, snippets: [Snippet], eos: Int32) throws -> PairwiseAccuracy {
        var scores: [Float] = []
        for chunk in stride(from: 0, to: snippets.count, by: 64) {
            let rows = snippets[chunk..<min(snippets.count, chunk + 64)].map { s in
                Array(tokenizer.encode(s.text).map(Int32.init).prefix(config.context - 1)) + [eos]
            }
            scores += try Tape.noGrad { try model.lastTokenScores(try TokenBatch.leftPadded(rows, padId: eos)).value.scalars }
        }
        var right = 0, total = 0
        for i in snippets.indices {
            for j in (i + 1)..<snippets.count where abs(snippets[i].rating - snippets[j].rating) >= 2 {
                total += 1
                let (hi, lo) = snippets[i].rating > snippets[j].rating ? (i, j) : (j, i)
                if scores[hi] > scores[lo] { right += 1 }
            }
        }
        return PairwiseAccuracy(accuracy: Double(right) / Double(max(total, 1)), pairs: total)
    }

    /// One response with its score under the optimised RM and under the judge.
    struct Row { var response: String; var rm: Double; var judge: Double }

    /// How every model in the report is sampled: fixed seed per chunk, so the models compared answer
    /// each prompt with the same random stream.
    func evalSampling(eos: [Int32], pad: Int32, maxNewTokens: Int, temperature: Float) -> SamplingConfig {
        SamplingConfig(maxNewTokens: maxNewTokens, temperature: temperature, eosTokenIds: eos, padTokenId: pad, seed: config.seed &+ 99)
    }

    /// Samples one response per prompt (`sampling`, its seed offset per chunk), scores it with both
    /// reward models, and measures length, EOS rate, distinct-2 and the KL to the reference. With
    /// `adapters` (attached to `model`) the reference is `model` with them off: no second copy.
    func evaluate(_ model: CausalLM, reference: CausalLM, adapters: LoRAAdapters? = nil, prompts: [[Int32]],
                  scorers: (rm: RewardSource, judge: RewardSource), tokenizer: Tokenizer,
                  sampling: SamplingConfig) throws -> (DemoEvaluation, [Row]) {
        var rows: [Row] = [], lengths: [Int] = [], eosHits = 0, kls: [Double] = []
        var bigrams = Set<String>(), bigramCount = 0
        for chunk in stride(from: 0, to: prompts.count, by: 32) {
            let group = Array(prompts[chunk..<min(prompts.count, chunk + 32)])
            var chunkSampling = sampling
            chunkSampling.seed = sampling.seed &+ UInt64(chunk)
            let rollout = try Rollout.sample(model, prompts: group, config: chunkSampling, tokenizer: tokenizer)
            let gen = rollout.generation, seq = rollout.sequences, a = rollout.actionCount, mask = rollout.actionMask.scalars
            let logprobs = { (m: CausalLM) in
                try Tape.noGrad {
                    try ActionScoring.logprobs(m, seq, promptWidth: rollout.promptWidth, actions: rollout.actions,
                                               temperature: sampling.temperature)
                }.logprobs.value.scalars
            }
            let lpModel = try logprobs(model)
            let lpRef = try adapters.map { a in try a.withAdaptersDisabled { try logprobs(reference) } } ?? logprobs(reference)
            let responses = rollout.responses
            let batch = RewardBatch(prompts: group.map { tokenizer.decode($0.map(Int.init), skipSpecialTokens: true) }, responses: responses,
                                    answers: group.map { _ in nil }, sequences: seq, responseLengths: gen.tokens.map(\.count),
                                    endsWithEOS: gen.hitEOS)
            let rmScores = try scorers.rm.scores(batch), judgeScores = try scorers.judge.scores(batch)
            for r in group.indices {
                rows.append(Row(response: responses[r], rm: Double(rmScores[r]), judge: Double(judgeScores[r])))
                lengths.append(gen.tokens[r].count)
                if gen.hitEOS[r] { eosHits += 1 }
                var kl = 0.0
                for j in 0..<a where mask[r * a + j] != 0 { kl += Double(lpModel[r * a + j] - lpRef[r * a + j]) }
                kls.append(kl)
                let words = responses[r].split(separator: " ")
                if words.count >= 2 { for k in 0..<(words.count - 1) { bigrams.insert("\(words[k]) \(words[k + 1])"); bigramCount += 1 } }
            }
        }
        let n = Double(rows.count)
        func stats(_ s: [Double]) -> ScoreStats {
            let mean = s.reduce(0, +) / n
            return ScoreStats(mean: mean, std: (s.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n).squareRoot())
        }
        return (DemoEvaluation(rm: stats(rows.map(\.rm)), judge: stats(rows.map(\.judge)), meanLength: Double(lengths.reduce(0, +)) / n,
                               minLength: lengths.min() ?? 0, maxLength: lengths.max() ?? 0, eosRate: Double(eosHits) / n,
                               distinct2: Double(bigrams.count) / Double(max(bigramCount, 1)), klToSFT: kls.reduce(0, +) / n), rows)
    }
}

func fmt(_ x: Double) -> String { String(format: "%.3f", x) }
