// Regression tests for the run-folder hardening: what a run may delete or replace, where
// the final model lands, resume refusing another run's checkpoints, non-finite training,
// and error messages that name the path. Each test failed on the code before the fix.
// The kill -9 tests live in KillTests.swift.
import Foundation
import Models
import RLHF
import RunKit
import SafeTensors
import Testing

/// The `rlhf` binary of this build: SwiftPM puts it next to the test runner
/// (.build/<triple>/<configuration>/); else the release build of this checkout.
func rlhfBinary() -> String {
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    let sibling = runner.deletingLastPathComponent().appendingPathComponent("rlhf").path
    if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/release/rlhf").path
}

struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `rlhf args...` to completion; output goes through files so a chatty child never blocks on a full pipe.
func runRLHF(_ args: [String], env: [String: String] = [:]) throws -> CLIResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: rlhfBinary())
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    let out = runDir("cli-out"), err = runDir("cli-err")
    FileManager.default.createFile(atPath: out, contents: nil)
    FileManager.default.createFile(atPath: err, contents: nil)
    p.standardOutput = FileHandle(forWritingAtPath: out)
    p.standardError = FileHandle(forWritingAtPath: err)
    try p.run()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                     stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
}

func ggufFixture() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("GGUFTests/Fixtures/tiny_llama.gguf").path
}

/// The SFT settings of the small runs below: 6 steps of one example, a checkpoint every 2.
let smallSFT = ["batch_size=1", "learning_rate=0.003", "max_steps=6", "save_steps=2", "logging_steps=1", "lr_scheduler_type=constant"]

func metricSteps(_ dir: String) throws -> [Int] {
    try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
        (try JSONSerialization.jsonObject(with: Foundation.Data(line.utf8)) as! [String: Any])["step"] as! Int
    }
}

@Suite(.serialized) struct RunSafetyTests {
    // MARK: - Data loss

    @Test func convertNeverEmptiesANonEmptyTarget() throws {
        let dir = runDir("convert")
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fm.copyItem(atPath: ggufFixture(), toPath: dir + "/model.gguf")
        try "mine".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        let refused = try runRLHF(["convert", "--from", dir + "/model.gguf", "--to", dir])
        #expect(refused.status != 0, "converting into a non-empty folder without --overwrite must fail")
        #expect(refused.stderr.contains(dir) && refused.stderr.contains("--overwrite"), "\(refused.stderr)")
        #expect(fm.fileExists(atPath: dir + "/model.gguf") && fm.fileExists(atPath: dir + "/notes.txt"))

        let done = try runRLHF(["convert", "--from", dir + "/model.gguf", "--to", dir, "--overwrite"])
        #expect(done.status == 0, "\(done.stderr)")
        for f in ["config.json", "model.safetensors", "tokenizer.json", "model.gguf", "notes.txt"] {
            #expect(fm.fileExists(atPath: dir + "/" + f), "\(f) after convert --overwrite")
        }
        #expect(try String(contentsOfFile: dir + "/notes.txt", encoding: .utf8) == "mine")
        _ = try ModelDirectory.loadCausalLM(dir)
    }

    @Test func theFinalModelLandsInOutputDirAndAFileNamedFinalIsKept() throws {
        let dir = runDir("final-file")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "my notes".write(toFile: dir + "/final", atomically: true, encoding: .utf8)
        let trainer = try SFTTrainer(config: try sftConfig(["output_dir=\(dir)", "max_steps=1", "overwrite_output_dir=true"]))
        _ = try trainer.train()
        #expect(try String(contentsOfFile: dir + "/final", encoding: .utf8) == "my notes")
        for f in ["config.json", "model.safetensors", "tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + f), "\(f) at the top of output_dir")
        }
        let saved = try ModelDirectory.loadCausalLM(dir)
        for ((n, a), (_, b)) in zip(trainer.model.namedParameters(), saved.namedParameters()) {
            #expect(a.value.scalars == b.value.scalars, "\(n) as saved")
        }
    }

    @Test func aNonEmptyOutputDirNeedsOverwriteAndIsNamed() throws {
        let dir = runDir("nonempty")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "mine".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        let trainer = try SFTTrainer(config: try sftConfig(["output_dir=\(dir)", "max_steps=1"]))
        #expect(performing: { _ = try trainer.train() },
                throws: { "\($0)".contains(dir) && "\($0)".contains("overwrite_output_dir") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["notes.txt"])
    }

    @Test func aFreshRunNeverPrunesItsOwnCheckpointsForAnotherRunsAndResumesItsOwn() throws {
        let dir = runDir("two-runs")
        let common = ["batch_size=1", "max_steps=8", "save_steps=2", "save_total_limit=2", "logging_steps=1"]
        _ = try SFTTrainer(config: try sftConfig(common + ["output_dir=\(dir)", "learning_rate=0.003"])).train()
        // Run B over run A's folder (checkpoints 4 and 6 left): B's checkpoint-2 must survive its own pruning.
        let b = common + ["output_dir=\(dir)", "learning_rate=0.001", "overwrite_output_dir=true"]
        _ = try SFTTrainer(config: try sftConfig(b)).train(stopAfter: 3)
        #expect(FileManager.default.fileExists(atPath: dir + "/checkpoint-2/complete"), "run B's own checkpoint")
        var notes: [String] = []
        let resumed = try SFTTrainer(config: try sftConfig(b))
        _ = try resumed.train(resume: true, log: { notes.append($0) })
        #expect(notes.contains { $0.contains("checkpoint-2") && $0.contains("step 2") }, "resumed run B, not run A: \(notes)")
        let straight = try SFTTrainer(config: try sftConfig(common + ["output_dir=\(runDir("two-runs-ref"))", "learning_rate=0.001"]))
        _ = try straight.train()
        for ((n, x), (_, y)) in zip(straight.model.namedParameters(), resumed.model.namedParameters()) {
            #expect(x.value.scalars == y.value.scalars, "\(n): resumed run B equals an uninterrupted run B")
        }
    }

    @Test func resumeRefusesOtherDataAndNamesTheField() throws {
        let dir = runDir("other-data")
        try FileManager.default.createDirectory(atPath: dir + "-data", withIntermediateDirectories: true)
        let data = dir + "-data/sft.jsonl"
        try FileManager.default.copyItem(atPath: rlhfFixture("sft.jsonl"), toPath: data)
        _ = try SFTTrainer(config: try sftConfig(smallSFT + ["output_dir=\(dir)", "train_file=\(data)"])).train(stopAfter: 3)
        try (String(contentsOfFile: data, encoding: .utf8) + "{\"prompt\": \"Hi\", \"completion\": \" there\"}\n")
            .write(toFile: data, atomically: true, encoding: .utf8)
        let again = try SFTTrainer(config: try sftConfig(smallSFT + ["output_dir=\(dir)", "train_file=\(data)"]))
        #expect(performing: { _ = try again.train(resume: true) },
                throws: { "\($0)".contains("train_file") && "\($0)".contains("run.json") })
    }

    @Test func resumeCutsMetricsBackToTheResumedStep() throws {
        let dir = runDir("metrics-cut")
        _ = try SFTTrainer(config: try sftConfig(smallSFT + ["output_dir=\(dir)"])).train(stopAfter: 3)
        _ = try SFTTrainer(config: try sftConfig(smallSFT + ["output_dir=\(dir)"])).train(resume: true)
        #expect(try metricSteps(dir) == [1, 2, 3, 4, 5, 6])
    }

    @Test func resumedPPOCutsSamplesBackToTheResumedIteration() throws {
        let dir = runDir("ppo-cut")
        let c = try ppoConfig(["output_dir=\(dir)", "prompt_data=[\"one\", \"two\"]", "rollout_batch_size=2", "mini_batch_size=2",
                               "total_episodes=8", "max_gen_len=2", "ppo_epochs=1", "save_steps=2", "logging_steps=1",
                               "reward={\"type\": \"length\", \"target\": 2}"])
        _ = try PPOTrainer(config: c).train(stopAfter: 3)
        _ = try PPOTrainer(config: c).train(resume: true)
        let iterations = try String(contentsOfFile: dir + "/samples.jsonl", encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Foundation.Data($0.utf8)) as! [String: Any])["iteration"] as! Int
        }
        #expect(iterations == [1, 1, 2, 2, 3, 3, 4, 4])
        #expect(try metricSteps(dir) == [1, 2, 3, 4])
        #expect(FileManager.default.fileExists(atPath: dir + "/model.safetensors"), "the actor at the top of output_dir")
    }

    @Test func anEmptyOutputDirIsAnError() throws {
        #expect(performing: { try sftConfig(["output_dir="]).validate(file: "c.json") }, throws: { "\($0)".contains("output_dir") })
        #expect(performing: { try ppoConfig(["prompt_data=[\"a\"]", "output_dir="]).validate(file: "c.json") },
                throws: { "\($0)".contains("output_dir") })
    }

    // MARK: - Non-finite training

    @Test(arguments: ["max_grad_norm=0", "max_grad_norm=1"])
    func aNonFiniteLossStopsNamingTheStepAndKeepsTheLastGoodCheckpoint(clip: String) throws {
        let dir = runDir("nan")
        // A learning rate of 1e30 sends weights to ~1e30 after step 1; step 2's gradients overflow.
        let trainer = try SFTTrainer(config: try sftConfig(["output_dir=\(dir)", "batch_size=1", "max_steps=5", "save_steps=1",
                                                            "learning_rate=1e30", "lr_scheduler_type=constant", clip]))
        #expect(performing: { _ = try trainer.train() },
                throws: { "\($0)".contains("step 2") && "\($0)".contains("non-finite") && "\($0)".contains(dir + "/checkpoint-1") })
        let last = try #require(try CheckpointStore(root: URL(fileURLWithPath: dir)).latestComplete())
        #expect(last.step == 1)
        let weights = try SafeTensorsFile(path: last.url.appendingPathComponent("model/model.safetensors").path)
        for name in weights.names { #expect(try weights.tensor(named: name).scalars.allSatisfy(\.isFinite), "\(name) finite") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/model.safetensors"), "no final model from a broken run")
    }

    @Test func aNonFinitePPOIterationStopsNamingTheIteration() throws {
        let dir = runDir("ppo-nan")
        let c = try ppoConfig(["output_dir=\(dir)", "prompt_data=[\"one\", \"two\"]", "rollout_batch_size=2", "mini_batch_size=2",
                               "total_episodes=8", "max_gen_len=2", "ppo_epochs=1", "save_steps=1", "lr_actor=1e30", "lr_critic=1e30",
                               "reward={\"type\": \"length\", \"target\": 2}"])
        #expect(performing: { _ = try PPOTrainer(config: c).train() },
                throws: { "\($0)".contains("iteration") && "\($0)".contains("non-finite") })
        if let last = try CheckpointStore(root: URL(fileURLWithPath: dir)).latestComplete() {
            let weights = try SafeTensorsFile(path: last.url.appendingPathComponent("actor/model.safetensors").path)
            for name in weights.names { #expect(try weights.tensor(named: name).scalars.allSatisfy(\.isFinite), "\(name) finite") }
        }
    }

    // MARK: - Messages

    @Test func anOutputDirThatIsAFileIsNamedBeforeAnyModelLoads() throws {
        let file = runDir("a-file")
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        for out in [file, file + "/run"] {
            let config = try sftConfig(["output_dir=\(out)", "model_path=/nonexistent/model"])
            #expect(performing: { _ = try SFTTrainer(config: config) },
                    throws: { "\($0)".contains(file) && "\($0)".contains("expected a directory") && !"\($0)".contains("nonexistent") })
        }
        let r = try runRLHF(["sft", "--set", "model_path=/nonexistent/model", "--set", "train_file=x.jsonl", "--set", "output_dir=\(file)"])
        #expect(r.status != 0 && r.stderr.contains(file) && !r.stderr.contains("NSCocoaErrorDomain"), "\(r.stderr)")
        let ppo = try runRLHF(["ppo", "--set", "sft_model_path=/nonexistent/model", "--set", "prompt_data=[\"a\"]",
                               "--set", "output_dir=\(file)"])
        #expect(ppo.status != 0 && ppo.stderr.contains(file) && !ppo.stderr.contains("nonexistent"), "\(ppo.stderr)")
    }

    @Test func aCorruptTrainerStateIsNamed() throws {
        let dir = runDir("corrupt-state")
        _ = try SFTTrainer(config: try sftConfig(smallSFT + ["output_dir=\(dir)"])).train(stopAfter: 3)
        try "{\"step\": \"two\"}".write(toFile: dir + "/checkpoint-2/trainer_state.json", atomically: true, encoding: .utf8)
        let again = try SFTTrainer(config: try sftConfig(smallSFT + ["output_dir=\(dir)"]))
        #expect(performing: { _ = try again.train(resume: true) },
                throws: { "\($0)".contains(dir + "/checkpoint-2/trainer_state.json") && "\($0)".contains("expected") })
    }
}
