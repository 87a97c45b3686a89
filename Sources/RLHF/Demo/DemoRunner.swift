// DemoRunner: the whole RLHF recipe on the bundled movie-review snippets, as a numbered
// recipe — 1. data  2. tokenizer  3. SFT  4. reward model  5. PPO  6. held-out evaluation
// 7. report. Every stage writes a normal HF directory (or file) under the output folder,
// loadable by the other subcommands and by transformers.
import Foundation
import Generation
import Models
import RunKit
import TensorCore
import Tokenizers

public struct DemoEvaluation: Sendable {
    public var meanScore: Double
    public var scoreStd: Double
    public var meanLength: Double
    public var minLength: Int
    public var maxLength: Int
    public var eosRate: Double
    public var distinct2: Double
    /// Mean over responses of Σ_t log pi(a_t) - log pi_sft(a_t) (0 for the SFT model itself).
    public var klToSFT: Double
}

public struct DemoResult: Sendable {
    public var sftEvalLoss: (before: Double, after: Double)
    public var rmHeldOutAccuracy: Double
    public var rmHeldOutPairs: Int
    public var sft: DemoEvaluation
    public var ppo: DemoEvaluation
    public var reportPath: String
    public var samplesPath: String
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

    func writeJSONL(_ rows: [[String: Any]], _ name: String) throws -> String {
        let lines = try rows.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        let p = path("data/\(name)")
        try (lines.joined(separator: "\n") + "\n").write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    public func run() throws -> DemoResult {
        let start = Date()
        try FileManager.default.createDirectory(atPath: path("data"), withIntermediateDirectories: true)

        // 1. Data: a seeded held-out split that neither SFT nor the RM ever sees.
        let data = DemoData(snippets: try DemoData.load(), heldOutFraction: config.heldOutFraction, seed: config.seed)
        log("[1/7] data: \(data.train.count) training snippets, \(data.heldOut.count) held out")

        // 2. Tokenizer: byte-level BPE trained on the training snippets.
        let tokDir = path("tokenizer")
        try BPETrainer.train(texts: data.train.map(\.text), vocabSize: config.vocabSize).write(to: URL(fileURLWithPath: tokDir))
        let tokenizer = try Tokenizer(directory: URL(fileURLWithPath: tokDir))
        guard let eos = tokenizer.eosTokenId else { throw DocumentError(message: "demo tokenizer has no EOS token") }
        log("[2/7] tokenizer: \(tokenizer.vocabSize) tokens -> \(tokDir)")

        // 3. SFT: a small GPT from scratch on the snippets (each snippet + EOS).
        var gpt = TransformerConfig.gpt2(vocabSize: tokenizer.vocabSize, hiddenSize: config.width, layers: config.layers,
                                         heads: config.heads, maxPositions: config.context)
        gpt.bosTokenId = eos; gpt.eosTokenIds = [eos]; gpt.padTokenId = eos
        // Dropout during SFT and RM training (saved as resid_pdrop/embd_pdrop; PPO never uses it).
        gpt.residualDropout = config.dropout; gpt.embeddingDropout = config.dropout
        var initializer = WeightInit.random(seed: config.seed)
        try ModelDirectory.save(CausalLM(config: gpt, initializer: &initializer), to: path("sft-init"), companionsFrom: tokDir)
        var sft = SFTConfig()
        sft.data.modelPath = path("sft-init")
        sft.data.trainFile = try writeJSONL(data.train.map { ["text": $0.text] }, "sft_train.jsonl")
        sft.data.evalFile = try writeJSONL(data.heldOut.prefix(500).map { ["text": $0.text] }, "sft_eval.jsonl")
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
        let sftSummary = try sftTrainer.train(log: log, progress: ProgressReporter.standardError(total: config.sftSteps, label: "[3/7] sft", unit: "step"))
        let after = sftSummary.finalEval.first { $0.0 == "eval/loss" }?.1 ?? .nan
        log("[3/7] sft: held-out loss \(fmt(before)) -> \(fmt(after)) (\(path("sft")))")

        // 4. Reward model: Bradley-Terry over every pair of training snippets in a rated
        //    group whose human ratings differ by >= 2; accuracy over every held-out pair with
        //    that gap.
        func ratedRows(_ groups: [[Snippet]]) -> [[String: Any]] {
            groups.map { ["prompt": "", "completions": $0.map(\.text), "ratings": $0.map(\.rating)] }
        }
        let groups = DemoData.ratedGroups(data.train, size: config.rmGroupSize, passes: config.rmPasses, seed: config.seed)
        let evalGroups = DemoData.ratedGroups(Array(data.heldOut.prefix(512)), size: config.rmGroupSize, passes: 1, seed: config.seed &+ 1)
        let rmSteps = config.rmSteps(groups: groups.count)
        var rm = RewardConfig()
        rm.minRatingGap = 2
        rm.data.modelPath = path("sft")
        rm.data.trainFile = try writeJSONL(ratedRows(groups), "rm_train.jsonl")
        rm.data.evalFile = try writeJSONL(ratedRows(evalGroups), "rm_eval.jsonl")
        rm.data.maxLength = config.context
        rm.data.evalBatchSize = max(1, 64 / config.rmGroupSize)
        rm.training.outputDir = path("rm")
        rm.training.maxSteps = rmSteps
        rm.training.batchSize = config.rmBatch
        rm.training.learningRate = config.rmLR
        rm.training.warmupSteps = rmSteps / 20
        rm.training.lrSchedulerType = "linear"
        rm.training.weightDecay = config.rmWeightDecay
        rm.training.loggingSteps = max(1, rmSteps / 40)
        rm.training.evalSteps = max(1, rmSteps / 8)
        rm.training.seed = config.seed
        let rmTrainer = try RewardTrainer(config: rm, log: log)
        let rmSummary = try rmTrainer.train(log: log, progress: ProgressReporter.standardError(total: rmSteps, label: "[4/7] reward", unit: "step"))
        let (accuracy, heldOutPairs) = try allPairsAccuracy(rmTrainer.model, tokenizer: tokenizer, snippets: data.heldOut, eos: Int32(eos))
        log("[4/7] reward model: held-out pairwise accuracy \(fmt(accuracy)) over \(heldOutPairs) pairs (\(path("rm")))")

        // 5. PPO: prompts are the first words of held-out snippets (the evaluation prompts
        //    are kept apart from the training prompts).
        let evalSnippets = Array(data.heldOut.suffix(config.evalPrompts))
        let trainPrompts = data.heldOut.dropLast(config.evalPrompts).map { DemoData.prompt($0, words: config.promptWords) }
        var ppo = PPOConfig()
        ppo.sftModelPath = path("sft")
        ppo.rewardModelPath = path("rm")
        ppo.outputDir = path("ppo")
        ppo.promptData = .file(try writeJSONL(trainPrompts.map { ["prompt": $0] }, "ppo_prompts.jsonl"))
        ppo.rolloutBatchSize = config.ppoRollout
        ppo.miniBatchSize = config.ppoMiniBatch
        ppo.ppoEpochs = 2
        ppo.totalEpisodes = config.ppoIterations * config.ppoRollout
        ppo.maxGenLen = config.maxGenLen
        ppo.lrActor = config.ppoLRActor
        ppo.lrCritic = 3e-4
        ppo.klCoef = 0.1
        ppo.gamma = 1
        ppo.lambda = 0.95
        ppo.vfCoef = 0.1
        ppo.cliprangeValue = 0.2
        ppo.missingEOSPenalty = 1
        ppo.maxPromptLength = 16
        ppo.seed = config.seed
        ppo.loggingSteps = 1
        try ppo.validate(file: "demo")
        let ppoTrainer = try PPOTrainer(config: ppo, log: log)
        let ppoSummary = try ppoTrainer.train(progress: ProgressReporter.standardError(total: config.ppoIterations, label: "[5/7] ppo", unit: "iter"))
        log("[5/7] ppo: \(ppoSummary.iterations) iterations (\(path("ppo")))")

        // 6. Held-out evaluation: the same prompts answered by the SFT and the PPO model.
        let sftModel = try ModelDirectory.loadCausalLM(path("sft"))
        let evalPromptIds = evalSnippets.map { tokenizer.encode(DemoData.prompt($0, words: config.promptWords)).map(Int32.init) }
        let reward = ModelReward(model: rmTrainer.model, tokenizer: nil, name: "demo RM")
        let (sftEval, sftRows) = try evaluate(sftModel, reference: sftModel, prompts: evalPromptIds, reward: reward, tokenizer: tokenizer, eos: Int32(eos))
        let (ppoEval, ppoRows) = try evaluate(ppoTrainer.actor, reference: sftModel, prompts: evalPromptIds, reward: reward, tokenizer: tokenizer, eos: Int32(eos))
        log("[6/7] held-out RM score: SFT \(fmt(sftEval.meanScore)) (std \(fmt(sftEval.scoreStd))) -> PPO \(fmt(ppoEval.meanScore)); KL to SFT \(fmt(ppoEval.klToSFT)) nats; EOS rate \(fmt(ppoEval.eosRate)); distinct-2 SFT \(fmt(sftEval.distinct2)) PPO \(fmt(ppoEval.distinct2))")

        // 7. Report and samples.
        var samples: [[String: Any]] = []
        for i in evalSnippets.indices {
            samples.append(["prompt": DemoData.prompt(evalSnippets[i], words: config.promptWords),
                            "sft_response": sftRows[i].response, "ppo_response": ppoRows[i].response,
                            "sft_score": sftRows[i].score, "ppo_score": ppoRows[i].score])
        }
        let samplesPath = path("samples.jsonl")
        let lines = try samples.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: samplesPath, atomically: true, encoding: .utf8)
        let result = DemoResult(sftEvalLoss: (before, after), rmHeldOutAccuracy: accuracy, rmHeldOutPairs: heldOutPairs,
                                sft: sftEval, ppo: ppoEval, reportPath: path("report.html"), samplesPath: samplesPath)
        try DemoReport.write(result, config: config, sft: sftSummary, rm: rmSummary, ppo: ppoSummary, samples: samples,
                             seconds: Date().timeIntervalSince(start), to: URL(fileURLWithPath: result.reportPath))
        log("[7/7] report: \(result.reportPath) (\(Int(Date().timeIntervalSince(start))) s in all)")
        return result
    }

    /// Scores every held-out snippet once (text + EOS, as the RM was trained) and counts,
    /// over all pairs with a rating gap >= 2, how often the higher-rated one scores higher.
    func allPairsAccuracy(_ model: ScalarHeadModel, tokenizer: Tokenizer, snippets: [Snippet], eos: Int32) throws -> (Double, Int) {
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
        return (Double(right) / Double(max(total, 1)), total)
    }

    struct Row { var response: String; var score: Double }

    /// Samples one response per prompt (T = 1, fixed seed), scores it with the RM, and
    /// measures length, EOS rate, distinct-2 and the KL to the reference.
    func evaluate(_ model: CausalLM, reference: CausalLM, prompts: [[Int32]], reward: ModelReward,
                  tokenizer: Tokenizer, eos: Int32) throws -> (DemoEvaluation, [Row]) {
        let cfg = SamplingConfig(maxNewTokens: config.maxGenLen, temperature: 1, eosTokenIds: [eos], padTokenId: eos, seed: config.seed &+ 99)
        var rows: [Row] = [], lengths: [Int] = [], eosHits = 0, kls: [Double] = []
        var bigrams = Set<String>(), bigramCount = 0
        for chunk in stride(from: 0, to: prompts.count, by: 32) {
            let group = Array(prompts[chunk..<min(prompts.count, chunk + 32)])
            let gen = try Generator.generate(model, prompts: group, config: SamplingConfig(
                maxNewTokens: cfg.maxNewTokens, temperature: 1, eosTokenIds: [eos], padTokenId: eos, seed: cfg.seed &+ UInt64(chunk)))
            let (seq, mask, a) = try gen.sequences(pad: eos)
            var actions = [Int32](repeating: eos, count: group.count * a)
            for r in group.indices { for (j, t) in gen.tokens[r].enumerated() { actions[r * a + j] = t } }
            let (lpModel, lpRef) = try Tape.noGrad {
                (try ActionScoring.logprobs(model, seq, promptWidth: gen.prompts.time, actions: actions, temperature: 1).logprobs.value.scalars,
                 try ActionScoring.logprobs(reference, seq, promptWidth: gen.prompts.time, actions: actions, temperature: 1).logprobs.value.scalars)
            }
            let responses = gen.tokens.enumerated().map { r, t in tokenizer.decode((gen.hitEOS[r] ? Array(t.dropLast()) : t).map(Int.init), skipSpecialTokens: true) }
            let scores = try reward.scores(RewardBatch(prompts: group.map { tokenizer.decode($0.map(Int.init)) }, responses: responses,
                                                       answers: group.map { _ in nil }, sequences: seq, responseLengths: gen.tokens.map(\.count),
                                                       endsWithEOS: gen.hitEOS))
            for r in group.indices {
                rows.append(Row(response: responses[r], score: Double(scores[r])))
                lengths.append(gen.tokens[r].count)
                if gen.hitEOS[r] { eosHits += 1 }
                var kl = 0.0
                for j in 0..<a where mask[r * a + j] != 0 { kl += Double(lpModel[r * a + j] - lpRef[r * a + j]) }
                kls.append(kl)
                let words = responses[r].split(separator: " ")
                if words.count >= 2 { for k in 0..<(words.count - 1) { bigrams.insert("\(words[k]) \(words[k + 1])"); bigramCount += 1 } }
            }
        }
        let s = rows.map(\.score), n = Double(s.count)
        let mean = s.reduce(0, +) / n
        let std = (s.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n).squareRoot()
        return (DemoEvaluation(meanScore: mean, scoreStd: std, meanLength: Double(lengths.reduce(0, +)) / n,
                               minLength: lengths.min() ?? 0, maxLength: lengths.max() ?? 0, eosRate: Double(eosHits) / n,
                               distinct2: Double(bigrams.count) / Double(max(bigramCount, 1)), klToSFT: kls.reduce(0, +) / n), rows)
    }
}

func fmt(_ x: Double) -> String { String(format: "%.3f", x) }
