// Shared by the labelling tests: the tiny fixture models, temp folders, prompt files and a
// server started in-process on an ephemeral loopback port (stopped with or without writing
// held decisions, the latter standing in for a crash).
import Foundation
import Hummingbird
import Labeling
import Logging
import Tokenizers

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("RLHFTests/Fixtures")
func fixtureModel(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

func tempDir(_ tag: String) throws -> String {
    let dir = NSTemporaryDirectory() + "rlhf-label-\(tag)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func writePrompts(_ prompts: [String], in dir: String) throws -> String {
    let path = dir + "/prompts.jsonl"
    let lines = prompts.map { JSONValue.object([("prompt", .string($0))]).serialized }
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func readRows(_ path: String) throws -> [JSONValue] {
    guard FileManager.default.fileExists(atPath: path) else { return [] }
    return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
}

let testToken = "test-token-0123456789abcdef"

final class TestServer: @unchecked Sendable {
    let session: LabelSession
    let port: Int
    let task: Task<Void, Error>

    init(session: LabelSession, port: Int, task: Task<Void, Error>) { self.session = session; self.port = port; self.task = task }

    static func start(_ config: LabelConfig, token: String = testToken) async throws -> TestServer {
        var config = config
        config.port = 0
        let session = try LabelSession(config: config)
        let (ports, cont) = AsyncStream<Int>.makeStream()
        // Cancelling the task (below) is an abrupt stop, which Hummingbird logs as errors.
        var quiet = Logger(label: "label-test")
        quiet.logLevel = .critical
        let app = LabelServer.application(session: session, token: token, logger: quiet) { cont.yield($0) }
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var it = ports.makeAsyncIterator()
        guard let port = await it.next() else { throw CancellationError() }
        return TestServer(session: session, port: port, task: task)
    }

    /// Stops serving; `flush` writes held decisions as `rlhf label` does on exit (false: a crash).
    func stop(flush: Bool = true) async throws {
        task.cancel()
        _ = await task.result
        if flush { try await session.shutdown() }
    }

    func post(_ path: String, _ body: String, token: String? = testToken) async throws -> HTTPReply {
        try await RawHTTP.post(port: port, path, token: token, body)
    }

    /// The final event of an item's stream (all responses generated).
    func finished(_ labeller: String, item: Int) async throws -> [String] {
        let r = try await post("/api/stream", #"{"labeller":"\#(labeller)","item":\#(item)}"#)
        guard r.status == 200 else { throw RawHTTP.SocketError(what: "stream: \(r.status) \(r.body)") }
        let events = r.body.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
        guard let last = events.last, let v = try? JSONValue.parse(String(last.dropFirst(6))), v["done"]?.bool == true,
              let texts = v["texts"]?.array?.compactMap(\.string) else {
            throw RawHTTP.SocketError(what: "stream ended without a final event: \(r.body.suffix(300))")
        }
        return texts
    }
}

func tinyConfig(_ dir: String, prompts: [String], mode: LabelMode = .pair, tokens: Int = 8) throws -> LabelConfig {
    var c = LabelConfig(models: [fixtureModel("tiny-llama")], promptsPath: try writePrompts(prompts, in: dir), outPath: dir + "/prefs.jsonl")
    c.mode = mode
    c.ratedCount = 3
    c.sampling.maxNewTokens = tokens
    c.sampling.temperature = 1
    c.sampling.seed = 7
    return c
}
