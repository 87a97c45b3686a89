// libFuzzer target: JSON config text through StrictConfigDecoder into the real trainer
// configs (PPO, SFT, reward), each then validated as `rlhf` validates it. Thrown
// ConfigErrors are accepted outcomes; only crashes count. Leaves out `--set` overrides.
import Foundation
import FuzzSupport
import RLHF
import RunKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Foundation.Data(UnsafeRawBufferPointer(start: data, count: size))
    if let c = try? StrictConfigDecoder.decode(PPOConfig.self, from: bytes, file: "ppo.json") { try? c.validate(file: "ppo.json") }
    if let c = try? StrictConfigDecoder.decode(SFTConfig.self, from: bytes, file: "sft.json") { try? c.validate(file: "sft.json") }
    if let c = try? StrictConfigDecoder.decode(RewardConfig.self, from: bytes, file: "rm.json") { try? c.validate(file: "rm.json") }
    return 0
}
