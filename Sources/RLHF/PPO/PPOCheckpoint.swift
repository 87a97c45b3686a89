// PPOCheckpoint: everything a PPO run needs to continue exactly — actor and critic (HF
// directories), both AdamW states, the KL controllers, running reward statistics, the data
// position, the iteration and the metric history. (Sampling seeds derive from the
// iteration, so no RNG stream needs saving.) With LoRA, actor/ and critic/ are PEFT adapter
// folders and the optimizer states cover the adapters (and the critic's head) only. Also what makes a PPO run the same run on resume
// (`identityFields`) and the finiteness check before a save.
import Data
import Foundation
import Models
import RLMath
import RunKit

enum PPOCheckpoint {
    /// Metrics whose NaN or infinity means the update already went wrong.
    static let mustBeFinite: Set<String> = ["ppo/policy_loss", "ppo/value_loss", "ppo/actor_grad_norm", "ppo/critic_grad_norm",
                                            "ppo/kl_mean"]

    /// Settings that change the result, the SFT model's fingerprint and the prompt file's.
    static func identityFields(_ t: PPOTrainer) -> [String: String] {
        var files: [String: String] = [:]
        if case let .file(path) = t.config.promptData { files["prompt_data"] = path }
        if let rm = t.config.rewardModelPath { files["reward_model_config"] = TrainerIdentity.configFile(of: rm) }
        if let ref = t.config.refModelPath { files["ref_model_config"] = TrainerIdentity.configFile(of: ref) }
        return TrainerIdentity.fields(settings: t.config, model: t.config.sftModelPath, parameters: t.actor.namedParameters(), files: files)
    }

    /// The first non-finite tensor among actor, critic and both optimizers' moments.
    static func firstNonFinite(_ t: PPOTrainer) -> String? {
        var state = FiniteCheck.state(t.actorTrainable, optimizer: t.actorOpt, prefix: "actor.")
        if let criticOpt = t.criticOpt {
            state += FiniteCheck.state(t.criticTrainable, optimizer: criticOpt, prefix: "critic.")
        }
        return FiniteCheck.firstNonFinite(state)
    }

    /// The actor into `dir` (a new folder): its adapter folder with LoRA, else the whole model.
    static func saveActor(_ t: PPOTrainer, to dir: URL) throws {
        if let adapters = t.adapters {
            try LoRAFiles.save(adapters, into: dir, baseModel: t.actorBase, companionsFrom: t.tokenizerDirectory)
        } else {
            try ModelDirectory.save(t.actor, to: dir.path, companionsFrom: t.tokenizerDirectory)
        }
    }

    /// The critic (if any) into `criticDir`, likewise (adapters + score head with LoRA).
    static func saveCritic(_ t: PPOTrainer, to criticDir: URL) throws {
        guard let critic = t.critic else { return }
        if let criticAdapters = t.criticAdapters {
            try LoRAFiles.save(criticAdapters, into: criticDir, baseModel: t.criticBase, companionsFrom: t.tokenizerDirectory)
        } else {
            try ModelDirectory.save(critic, to: criticDir.path, companionsFrom: t.tokenizerDirectory)
        }
    }

    static func save(_ t: PPOTrainer, to dir: URL, history: [MetricsRecord]) throws {
        try saveActor(t, to: dir.appendingPathComponent("actor"))
        try saveCritic(t, to: dir.appendingPathComponent("critic"))
        let a = dir.appendingPathComponent("actor_optimizer"), c = dir.appendingPathComponent("critic_optimizer")
        try FileManager.default.createDirectory(at: a, withIntermediateDirectories: true)
        try OptimizerCheckpoint.save(t.actorOpt, names: t.actorTrainable.map(\.0), to: a)
        if let criticOpt = t.criticOpt {
            try FileManager.default.createDirectory(at: c, withIntermediateDirectories: true)
            try OptimizerCheckpoint.save(criticOpt, names: t.criticTrainable.map(\.0), to: c)
        }
        var state = TrainerState(step: t.iteration, epoch: t.samplerPosition.epoch, dataPosition: try OpaqueCodable(t.samplerPosition),
                                 metricsHistory: history)
        state.extra["kl_controller"] = try OpaqueCodable(t.klController)
        if let p = t.penalty { state.extra["kl_penalty"] = try OpaqueCodable(p) }
        state.extra["reward_stats"] = try OpaqueCodable(t.rewardStats)
        state.extra["actor_optimizer_steps"] = try OpaqueCodable(t.actorOpt.steps)
        if let criticOpt = t.criticOpt { state.extra["critic_optimizer_steps"] = try OpaqueCodable(criticOpt.steps) }
        try state.save(in: dir)
    }

    static func load(_ t: PPOTrainer, from dir: URL) throws -> [MetricsRecord] {
        let state = try TrainerState.load(from: dir)
        let actorDir = dir.appendingPathComponent("actor").path, criticDir = dir.appendingPathComponent("critic").path
        if let adapters = t.adapters {
            try LoRAFiles.restore(adapters, from: actorDir)
        } else {
            let actor = try ModelDirectory.loadCausalLM(actorDir)
            for ((_, p), (_, q)) in zip(t.actor.namedParameters(), actor.namedParameters()) { p.value = q.value }
        }
        if let criticAdapters = t.criticAdapters {
            try LoRAFiles.restore(criticAdapters, from: criticDir)
        } else if let critic = t.critic {
            let (saved, _) = try ModelDirectory.loadScalarHead(criticDir)
            for ((_, p), (_, q)) in zip(critic.namedParameters(), saved.namedParameters()) { p.value = q.value }
        }
        var a = state, c = state
        a.extra["optimizer_steps"] = state.extra["actor_optimizer_steps"]
        c.extra["optimizer_steps"] = state.extra["critic_optimizer_steps"]
        try OptimizerCheckpoint.load(t.actorOpt, names: t.actorTrainable.map(\.0), from: dir.appendingPathComponent("actor_optimizer"),
                                     state: a)
        if let criticOpt = t.criticOpt {
            try OptimizerCheckpoint.load(criticOpt, names: t.criticTrainable.map(\.0),
                                         from: dir.appendingPathComponent("critic_optimizer"), state: c)
        }
        guard let pos = state.dataPosition, let kl = state.extra["kl_controller"], let stats = state.extra["reward_stats"] else {
            throw RewardError(message: "\(dir.path): checkpoint lacks its data position or KL controller")
        }
        try t.restore(iteration: state.step, position: try pos.decode(DataPosition.self), kl: try kl.decode(KLController.self),
                      penalty: try state.extra["kl_penalty"]?.decode(AdaptiveKLPenalty.self),
                      rewardStats: try stats.decode(RunningMoments.self))
        return state.metricsHistory
    }
}
