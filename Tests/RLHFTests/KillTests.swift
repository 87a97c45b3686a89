// kill -9 proofs: the real `rlhf` binary is stopped by the RLHF_TEST_PAUSE_AT test hook
// inside a checkpoint write or inside the swap of the final model, SIGKILLed there, and the
// folder is checked: the previous result is intact and `--resume` finishes with the same
// bytes as an uninterrupted run. Leaves out kills at other points (the hook names two).
import Foundation
import Models
import RunKit
import Testing

/// Starts `rlhf args...` with RLHF_TEST_PAUSE_AT=`pause`, waits until it reports the pause on
/// stderr, kills it with SIGKILL and returns its stderr.
func killRLHF(_ args: [String], pause: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: rlhfBinary())
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(["RLHF_TEST_PAUSE_AT": pause]) { $1 }
    let err = runDir("kill-err")
    FileManager.default.createFile(atPath: err, contents: nil)
    p.standardError = FileHandle(forWritingAtPath: err)
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(300)
    var text = ""
    while Date() < deadline {
        text = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        if text.contains("RLHF_TEST_PAUSED \(pause)") || !p.isRunning { break }
        Thread.sleep(forTimeInterval: 0.05)
    }
    let paused = p.isRunning && text.contains("RLHF_TEST_PAUSED \(pause)")
    if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    p.waitUntilExit()
    #expect(paused, "rlhf never reached the pause point \(pause): \(text)")
    #expect(p.terminationReason == .uncaughtSignal)
    return text
}

func bytes(_ path: String) throws -> Foundation.Data { try Foundation.Data(contentsOf: URL(fileURLWithPath: path)) }

@Suite(.serialized) struct KillTests {
    func sft(_ dir: String, _ extra: [String] = []) -> [String] {
        ["sft", "--set", "model_path=\(rlhfFixture("tiny-llama"))", "--set", "train_file=\(rlhfFixture("sft.jsonl"))",
         "--set", "eval_fraction=0", "--set", "output_dir=\(dir)"] + (smallSFT + extra).flatMap { ["--set", $0] }
    }

    @Test func killedDuringACheckpointWriteResumesToTheUninterruptedResult() throws {
        let reference = runDir("kill-ref"), dir = runDir("kill-ckpt")
        let ref = try runRLHF(sft(reference))
        try #require(ref.status == 0, "\(ref.stderr)")

        _ = try killRLHF(sft(dir), pause: "checkpoint-write:4")
        let store = CheckpointStore(root: URL(fileURLWithPath: dir))
        #expect(try store.list().map(\.step) == [2], "checkpoint-4 never appears half-written")
        let two = try #require(try store.latestComplete())
        #expect(try TrainerState.load(from: two.url).step == 2)
        _ = try ModelDirectory.loadCausalLM(two.url.appendingPathComponent("model").path)
        #expect(try bytes(two.url.path + "/model/model.safetensors") == bytes(reference + "/checkpoint-2/model/model.safetensors"),
                "checkpoint-2 is the one an uninterrupted run writes")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".tmp-checkpoint-4") }
        #expect(left.count == 1, "the kill hit the write of checkpoint-4")

        let resumed = try runRLHF(sft(dir) + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try bytes(dir + "/model.safetensors") == bytes(reference + "/model.safetensors"))
        #expect(try metricSteps(dir) == [1, 2, 3, 4, 5, 6])
        let hidden = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
        #expect(hidden.isEmpty, "leftovers of the killed write are cleaned: \(hidden)")
    }

    @Test func killedDuringTheFinalSwapKeepsTheOldModelAndResumes() throws {
        let reference = runDir("kill-ref2"), dir = runDir("kill-final")
        let ref = try runRLHF(sft(reference))
        try #require(ref.status == 0, "\(ref.stderr)")
        // An earlier run (another learning rate) left its model in the folder.
        let old = try runRLHF(sft(dir, ["learning_rate=0.001"]))
        try #require(old.status == 0, "\(old.stderr)")
        let oldWeights = try bytes(dir + "/model.safetensors")
        #expect(oldWeights != (try bytes(reference + "/model.safetensors")))

        _ = try killRLHF(sft(dir) + ["--overwrite"], pause: "final-swap")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.hasPrefix(".publish-") }, "killed mid-publish")
        #expect(try bytes(dir + "/model.safetensors") == oldWeights, "the old model is intact mid-swap")
        _ = try ModelDirectory.loadCausalLM(dir)
        let four = try #require(try CheckpointStore(root: URL(fileURLWithPath: dir)).latestComplete())
        #expect(four.step == 4)
        #expect(try bytes(four.url.path + "/model/model.safetensors") == bytes(reference + "/checkpoint-4/model/model.safetensors"),
                "the killed run's checkpoints are intact")

        let resumed = try runRLHF(sft(dir) + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try bytes(dir + "/model.safetensors") == bytes(reference + "/model.safetensors"))
        _ = try ModelDirectory.loadCausalLM(dir)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
        #expect(hidden.isEmpty, "no hidden copies left behind: \(hidden)")
    }
}
