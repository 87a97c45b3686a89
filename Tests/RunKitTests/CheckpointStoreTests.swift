// Tests of CheckpointStore and TrainerState: atomic writes with the marker, a crash inside
// the writer closure, a half-written directory and temp leftovers ignored by
// latestComplete(), pruning, replacing a step, and the state's JSON round trip.
import Foundation
import Testing
import RunKit

func tempRoot() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("runkit-ckpt-\(UUID().uuidString)")
}

struct Boom: Error {}

@Test func writesListsAndFindsLatest() throws {
    let root = tempRoot(); defer { try? FileManager.default.removeItem(at: root) }
    let store = CheckpointStore(root: root)
    #expect(try store.latestComplete() == nil)
    for step in [100, 200, 300] {
        let url = try store.write(step: step) { dir in
            try Data("weights \(step)".utf8).write(to: dir.appendingPathComponent("model.safetensors"))
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("optim"), withIntermediateDirectories: true)
            try Data([1, 2]).write(to: dir.appendingPathComponent("optim/state.bin"))
        }
        #expect(url.lastPathComponent == "checkpoint-\(step)")
    }
    #expect(try store.list().map(\.step) == [100, 200, 300])
    let latest = try #require(try store.latestComplete())
    #expect(latest.step == 300 && latest.isComplete)
    #expect(try String(contentsOf: latest.url.appendingPathComponent("model.safetensors"), encoding: .utf8) == "weights 300")
    #expect(FileManager.default.fileExists(atPath: latest.url.appendingPathComponent("complete").path))
    #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() == ["checkpoint-100", "checkpoint-200", "checkpoint-300"])
}

@Test func failingWriterLeavesNothing() throws {
    let root = tempRoot(); defer { try? FileManager.default.removeItem(at: root) }
    let store = CheckpointStore(root: root)
    try store.write(step: 1) { _ in }
    #expect(throws: Boom.self) {
        try store.write(step: 2) { dir in
            try Data("partial".utf8).write(to: dir.appendingPathComponent("model.safetensors"))
            throw Boom()
        }
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["checkpoint-1"])
    #expect(try store.latestComplete()?.step == 1)
}

@Test func crashLeftoversAreIgnoredForResume() throws {
    let root = tempRoot(); defer { try? FileManager.default.removeItem(at: root) }
    let store = CheckpointStore(root: root)
    try store.write(step: 200) { _ in }
    let fm = FileManager.default
    // A process killed mid-write: the hidden temp dir with no marker ...
    try fm.createDirectory(at: root.appendingPathComponent(".tmp-checkpoint-400-deadbeef"), withIntermediateDirectories: true)
    // ... and a checkpoint directory without its `complete` marker (e.g. copied by hand).
    try fm.createDirectory(at: root.appendingPathComponent("checkpoint-300"), withIntermediateDirectories: true)
    try Data("half".utf8).write(to: root.appendingPathComponent("checkpoint-300/model.safetensors"))
    try Data().write(to: root.appendingPathComponent("checkpoint-500"))    // a file, not a directory
    try fm.createDirectory(at: root.appendingPathComponent("checkpoint-x1"), withIntermediateDirectories: true)
    #expect(try store.list().map { "\($0.step):\($0.isComplete)" } == ["200:true", "300:false"])
    #expect(try store.latestComplete()?.step == 200)
    let removed = try store.prune(keepLast: 3)
    #expect(removed.map(\.lastPathComponent) == [".tmp-checkpoint-400-deadbeef"])
    #expect(fm.fileExists(atPath: root.appendingPathComponent("checkpoint-300").path))
}

@Test func pruneKeepsLastN() throws {
    let root = tempRoot(); defer { try? FileManager.default.removeItem(at: root) }
    let store = CheckpointStore(root: root)
    for s in [10, 20, 30, 40] { try store.write(step: s) { _ in } }
    let removed = try store.prune(keepLast: 2)
    #expect(removed.map(\.lastPathComponent) == ["checkpoint-10", "checkpoint-20"])
    #expect(try store.list().map(\.step) == [30, 40])
}

@Test func rewritingAStepReplacesIt() throws {
    let root = tempRoot(); defer { try? FileManager.default.removeItem(at: root) }
    let store = CheckpointStore(root: root)
    try store.write(step: 5) { try Data("old".utf8).write(to: $0.appendingPathComponent("a")) }
    try store.write(step: 5) { try Data("new".utf8).write(to: $0.appendingPathComponent("b")) }
    let dir = store.url(step: 5)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["b", "complete"])
    #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["checkpoint-5"])
}

struct FakeRNG: Codable, Equatable { var seed: UInt64; var counter: UInt64; var buffer: [UInt32] }
struct FakePosition: Codable, Equatable { var epoch: Int; var index: Int }

@Test func trainerStateRoundTripsThroughCheckpoint() throws {
    let root = tempRoot(); defer { try? FileManager.default.removeItem(at: root) }
    let rng = FakeRNG(seed: 0xFFFF_FFFF_FFFF_FFF1, counter: 12, buffer: [7, 8])
    let state = TrainerState(step: 42, epoch: 1, dataPosition: try OpaqueCodable(FakePosition(epoch: 1, index: 17)),
                             rng: ["dropout": try OpaqueCodable(rng)],
                             metricsHistory: [MetricsRecord(step: 41, wallTime: 5, ["loss": .nan, "lr": 1e-4])],
                             extra: ["best_eval": try OpaqueCodable(1.25)])
    let store = CheckpointStore(root: root)
    let url = try store.write(step: 42) { try state.save(in: $0) }
    let back = try TrainerState.load(from: url)
    #expect(back.step == 42 && back.epoch == 1)
    #expect(try back.dataPosition?.decode(FakePosition.self) == FakePosition(epoch: 1, index: 17))
    #expect(try back.rng["dropout"]?.decode(FakeRNG.self) == rng)
    #expect(try back.extra["best_eval"]?.decode(Double.self) == 1.25)
    #expect(back.metricsHistory[0]["loss"]!.isNaN && back.metricsHistory[0]["lr"] == 1e-4)
    let missing = "\((try? TrainerState.load(from: root)) as Any)"
    #expect(missing == "nil")
}
