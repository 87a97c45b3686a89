// The sampling flags shared by `rlhf generate` and `rlhf label`, mapped onto `SamplingConfig`
// (EOS and pad ids come from the model, not from flags).
import ArgumentParser
import Generation

struct SamplingOptions: ParsableArguments {
    @Option(help: "Maximum number of new tokens.") var maxNewTokens = 64
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float = 0.7
    @Option(help: "Keep the k most likely tokens (0 = off).") var topK = 0
    @Option(help: "Nucleus sampling mass in (0, 1] (1 = off).") var topP: Float = 1
    @Option(help: "Random seed.") var seed: UInt64 = 0

    func config(eosTokenIds: [Int32] = [], padTokenId: Int32 = 0) -> SamplingConfig {
        SamplingConfig(maxNewTokens: maxNewTokens, temperature: temperature, topK: topK, topP: topP,
                       eosTokenIds: eosTokenIds, padTokenId: padTokenId, seed: seed)
    }
}
