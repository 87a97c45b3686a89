// Tests of RunDirectory, RunIdentity and DirectoryPublish: path checks with messages that name
// the path, identity comparison on resume, pruning only this run's checkpoints, cutting JSONL
// files back, and a publish that leaves other files alone and is finished after a crash.
import Foundation
import Testing
import RunKit

@Suite struct RunDirectoryTests {
    let fm = FileManager.default

    @Test func checkNamesThePathAndWhatWasExpected() throws {
        let root = tempRoot(); defer { try? fm.removeItem(at: root) }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let file = root.appendingPathComponent("f").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        #expect(performing: { try RunDirectory.check(file, overwrite: true, resume: false) },
                throws: { "\($0)" == "\(file): output_dir exists and is a file; expected a directory (or a path that does not exist yet)" })
        #expect(performing: { try RunDirectory.check(file + "/sub", overwrite: false, resume: false) },
                throws: { "\($0)".contains("\(file) is a file") })
        #expect(performing: { try RunDirectory.check("", overwrite: false, resume: false) },
                throws: { "\($0)".hasPrefix("output_dir: is empty") })
        #expect(performing: { try RunDirectory.check(root.path, overwrite: false, resume: false) },
                throws: { "\($0)".contains(root.path) && "\($0)".contains("f") && "\($0)".contains("--overwrite") })
        #expect(performing: { try RunDirectory.check(root.path, overwrite: false, resume: true) }, throws: { "\($0)".contains("run.json") })
        try RunDirectory.check(root.path, overwrite: true, resume: false)
        try RunDirectory.check(root.appendingPathComponent("new/deeper").path, overwrite: false, resume: false)
    }

    @Test func resumeComparesTheIdentityAndNamesTheFields() throws {
        let root = tempRoot(); defer { try? fm.removeItem(at: root) }
        let first = try RunDirectory.open(root.path, identity: RunIdentity(fields: ["model_config": "a", "learning_rate": "0.1"]),
                                          overwrite: false, resume: false)
        #expect(!first.resumed)
        let again = try RunDirectory.open(root.path, identity: RunIdentity(fields: ["model_config": "a", "learning_rate": "0.1"]),
                                          overwrite: false, resume: true)
        #expect(again.resumed && again.identity.runID == first.identity.runID)
        #expect(performing: {
            _ = try RunDirectory.open(root.path, identity: RunIdentity(fields: ["model_config": "b", "learning_rate": "0.1"]),
                                      overwrite: false, resume: true)
        }, throws: { e in
            "\(e)".contains("run.json") && "\(e)".contains("model_config: recorded a, now b") && !"\(e)".contains("learning_rate")
        })
    }

    @Test func onlyThisRunsCheckpointsArePrunedAndResumed() throws {
        let root = tempRoot(); defer { try? fm.removeItem(at: root) }
        let a = try RunDirectory.open(root.path, identity: RunIdentity(fields: [:]), overwrite: false, resume: false)
        for s in [4, 6] { try a.writeCheckpoint(step: s) { _ in } }
        let b = try RunDirectory.open(root.path, identity: RunIdentity(fields: [:]), overwrite: true, resume: false)
        try b.writeCheckpoint(step: 2) { _ in }
        #expect(try b.prune(keepLast: 2).isEmpty)
        #expect(try b.latestCheckpoint()?.step == 2)
        #expect(try b.store.list().map(\.step) == [2, 4, 6])
        try b.writeCheckpoint(step: 8) { _ in }
        try b.writeCheckpoint(step: 10) { _ in }
        #expect(try b.prune(keepLast: 2).map(\.lastPathComponent) == ["checkpoint-2"])
        let resumed = try RunDirectory.open(root.path, identity: RunIdentity(fields: [:]), overwrite: false, resume: true)
        #expect(try resumed.latestCheckpoint()?.step == 10)
    }

    @Test func cutJSONLKeepsLinesThroughTheStep() throws {
        let root = tempRoot(); defer { try? fm.removeItem(at: root) }
        let run = try RunDirectory.open(root.path, identity: RunIdentity(fields: [:]), overwrite: false, resume: false)
        let file = root.appendingPathComponent("metrics.jsonl")
        try Data("{\"step\": 1}\n{\"step\": 2}\n{\"step\": 3}\n{\"step\": 4".utf8).write(to: file)
        try run.cutJSONL("metrics.jsonl", key: "step", through: 2)
        #expect(try String(contentsOf: file, encoding: .utf8) == "{\"step\": 1}\n{\"step\": 2}\n")
    }

    @Test func publishKeepsOtherFilesAndRecoverFinishesAKilledPublish() throws {
        let root = tempRoot(); defer { try? fm.removeItem(at: root) }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: root.appendingPathComponent("notes.txt"))
        try Data("old".utf8).write(to: root.appendingPathComponent("model.safetensors"))
        let names = try DirectoryPublish.publish(into: root) { dir in
            try fm.createDirectory(at: dir, withIntermediateDirectories: false)
            try Data("new".utf8).write(to: dir.appendingPathComponent("model.safetensors"))
            try Data("{}".utf8).write(to: dir.appendingPathComponent("config.json"))
        }
        #expect(names == ["config.json", "model.safetensors"], "weights last")
        #expect(try fm.contentsOfDirectory(atPath: root.path).sorted() == ["config.json", "model.safetensors", "notes.txt"])
        #expect(try String(contentsOf: root.appendingPathComponent("model.safetensors"), encoding: .utf8) == "new")

        // A process killed after the manifest and one move: recover finishes the rest.
        let staging = root.appendingPathComponent(".publish-dead")
        try fm.createDirectory(at: staging.appendingPathComponent("files"), withIntermediateDirectories: true)
        try Data("newer".utf8).write(to: staging.appendingPathComponent("files/model.safetensors"))
        try JSONEncoder().encode(["config.json", "model.safetensors"]).write(to: staging.appendingPathComponent("manifest.json"))
        // ... and one killed before its manifest: removed.
        try fm.createDirectory(at: root.appendingPathComponent(".publish-half/files"), withIntermediateDirectories: true)
        #expect(try DirectoryPublish.recover(in: root) == ["config.json", "model.safetensors"])
        #expect(try String(contentsOf: root.appendingPathComponent("model.safetensors"), encoding: .utf8) == "newer")
        #expect(try fm.contentsOfDirectory(atPath: root.path).sorted() == ["config.json", "model.safetensors", "notes.txt"])
    }
}
