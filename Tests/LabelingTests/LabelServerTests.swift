// HTTP-level tests of `rlhf label`'s server, in-process on an ephemeral loopback port with the
// tiny fixture model: items, choices, the rows written, "back", resuming after a restart and
// after a crash, two labellers at once, the token and Host guards, and refused requests.
import Data
import Foundation
import Labeling
import Testing
import Tokenizers

@Suite(.serialized) struct LabelServerTests {
    @Test func pairsAreWrittenHeldForBackAndResumedAfterCrash() async throws {
        let dir = try tempDir("pairs")
        let config = try tinyConfig(dir, prompts: ["Rate the film:", "Reply politely:", "Name a colour:", "Count to three:"])
        let out = dir + "/prefs.jsonl", unpaired = dir + "/prefs.unpaired.jsonl"

        var s = try await TestServer.start(config)
        let page = try await RawHTTP.request(port: s.port, "GET", "/")
        #expect(page.status == 200 && page.body.contains(#"<meta name="label-token" content="\#(testToken)">"#))
        #expect(page.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)

        var v = try await s.post("/api/next", #"{"labeller":"ann"}"#).json!
        #expect(v["item"]?.int == 0 && v["slots"]?.int == 2 && v["progress"]?["total"]?.int == 4)
        // Chat model: the prompt is one user message.
        #expect(v["prompt"]?.array?.first?["content"]?.string == "Rate the film:")
        let texts0 = try await s.finished("ann", item: 0)
        var r = try await s.post("/api/label", #"{"labeller":"ann","item":0,"choice":"A","thumbs":["up",null],"note":"clear"}"#)
        #expect(r.status == 200, "\(r.body)")
        // Held for "back": nothing in --out yet, the journal has it.
        #expect(try readRows(out).isEmpty && FileManager.default.fileExists(atPath: dir + "/prefs.pending.json"))

        v = try await s.post("/api/next", #"{"labeller":"ann"}"#).json!
        #expect(v["item"]?.int == 1 && v["can_back"]?.bool == true)
        _ = try await s.finished("ann", item: 1)
        r = try await s.post("/api/label", #"{"labeller":"ann","item":1,"choice":"tie"}"#)
        #expect(r.status == 200)
        // Item 0 is final now (appended when item 1 was decided).
        var rows = try readRows(out)
        #expect(rows.count == 1)
        let row0 = rows[0]
        #expect(row0["chosen"]?.array?.first?["content"]?.string == texts0[0])
        #expect(row0["rejected"]?.array?.first?["content"]?.string == texts0[1])
        #expect(row0["labeller"]?.string == "ann" && row0["choice"]?.string == "A" && row0["item"]?.int == 0)
        #expect(row0["thumbs"]?["A"]?.string == "up" && row0["note"]?.string == "clear" && row0["seed"]?.int == 7)
        #expect(row0["models"]?["A"]?.string == fixtureModel("tiny-llama"))

        // Back reopens the tie (still held) with what was chosen; a second back has nothing left.
        v = try await s.post("/api/back", #"{"labeller":"ann"}"#).json!
        #expect(v["item"]?.int == 1 && v["previous"]?["choice"]?.string == "tie")
        #expect(try await s.post("/api/back", #"{"labeller":"ann"}"#).status == 409)
        r = try await s.post("/api/label", #"{"labeller":"ann","item":1,"choice":"B"}"#)
        #expect(r.status == 200)

        // A crash: the held decision (item 1) is in the journal only; a restart appends it.
        let before = try Foundation.Data(contentsOf: URL(fileURLWithPath: out))
        try await s.stop(flush: false)
        // ... and a row cut short by it (no newline): dropped at restart, the item labelled again.
        let torn = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        try torn.seekToEnd()
        try torn.write(contentsOf: Foundation.Data(#"{"prompt": [{"ro"#.utf8))
        try torn.close()
        s = try await TestServer.start(config)
        #expect(s.session.notes.contains { $0.contains("dropped an incomplete last line") })
        rows = try readRows(out)
        #expect(rows.map { $0["item"]?.int } == [0, 1] && rows[1]["choice"]?.string == "B")
        // Appended, never rewritten: the first run's bytes are a prefix of the file.
        #expect(try Foundation.Data(contentsOf: URL(fileURLWithPath: out)).starts(with: before))
        #expect(!FileManager.default.fileExists(atPath: dir + "/prefs.pending.json"))

        // Two labellers at once never get the same item.
        let a = try await s.post("/api/next", #"{"labeller":"ann"}"#).json!
        let b = try await s.post("/api/next", #"{"labeller":"bob"}"#).json!
        #expect(a["item"]?.int == 2 && b["item"]?.int == 3 && a["progress"]?["labelled"]?.int == 2)
        // bob cannot decide ann's item.
        #expect(try await s.post("/api/label", #"{"labeller":"bob","item":2,"choice":"skip"}"#).status == 409)
        #expect(try await s.post("/api/label", #"{"labeller":"bob","item":3,"choice":"skip"}"#).status == 200)
        _ = try await s.finished("ann", item: 2)
        #expect(try await s.post("/api/label", #"{"labeller":"ann","item":2,"choice":"B"}"#).status == 200)
        let doneView = try await s.post("/api/next", #"{"labeller":"ann"}"#).json!
        #expect(doneView["done"]?.bool == true && doneView["progress"]?["labelled"]?.int == 4)
        try await s.stop()

        rows = try readRows(out)
        #expect(rows.map { $0["item"]?.int } == [0, 1, 2] && rows[2]["labeller"]?.string == "ann")
        let skipped = try readRows(unpaired)
        #expect(skipped.map { $0["item"]?.int } == [3] && skipped[0]["labeller"]?.string == "bob")
        #expect(skipped[0]["choice"]?.string == "skip" && skipped[0]["responses"]?.array?.count == 2)
        // The reward trainer's reader takes the file as it is.
        let prefs = try PreferenceRow.load(URL(fileURLWithPath: out))
        #expect(prefs.count == 3)
        if case .chat = prefs[0].content {} else { Issue.record("expected conversational rows for a chat model") }

        // A different prompts file with the same --out is refused, naming the item.
        var other = config
        other.promptsPath = try writePrompts(["Something else:", "b", "c", "d"], in: try tempDir("other"))
        #expect(throws: LabelError.self) { _ = try LabelSession(config: other) }
    }

    @Test func rateModeWritesRatedGroups() async throws {
        let dir = try tempDir("rate")
        let s = try await TestServer.start(try tinyConfig(dir, prompts: ["Rate the film:", "Say hi:"], mode: .rate))
        let v = try await s.post("/api/next", #"{"labeller":"cy"}"#).json!
        #expect(v["slots"]?.int == 3 && v["mode"]?.string == "rate")
        let texts = try await s.finished("cy", item: 0)
        #expect(try await s.post("/api/label", #"{"labeller":"cy","item":0,"ratings":[5,1]}"#).status == 400)
        #expect(try await s.post("/api/label", #"{"labeller":"cy","item":0,"ratings":[5,1,9]}"#).error.contains("ratings[2]"))
        #expect(try await s.post("/api/label", #"{"labeller":"cy","item":0,"ratings":[5,1,3]}"#).status == 200)
        try await s.stop()
        let rows = try readRows(dir + "/prefs.jsonl")
        #expect(rows.count == 1 && rows[0]["ratings"] == .array([.int(5), .int(1), .int(3)]))
        #expect(rows[0]["completions"]?.array?.compactMap { $0.array?.first?["content"]?.string } == texts)
        let prefs = try PreferenceRow.load(URL(fileURLWithPath: dir + "/prefs.jsonl"))
        if case .rated(_, let c, let r) = prefs[0].content { #expect(c.count == 3 && r == [5, 1, 3]) }
        else { Issue.record("expected a rated group") }
    }

    @Test func twoModelsFillOneSideEachShuffledAndRecorded() async throws {
        let dir = try tempDir("two")
        var config = try tinyConfig(dir, prompts: (0..<8).map { "Prompt \($0):" })
        let (m1, m2) = (fixtureModel("tiny-llama"), fixtureModel("tiny-llama-ref"))
        config.models = [m1, m2]
        let s = try await TestServer.start(config)
        for item in 0..<8 {
            #expect(try await s.post("/api/next", #"{"labeller":"dee"}"#).json?["item"]?.int == item)
            _ = try await s.finished("dee", item: item)
            #expect(try await s.post("/api/label", #"{"labeller":"dee","item":\#(item),"choice":"A"}"#).status == 200)
        }
        try await s.stop()
        let rows = try readRows(dir + "/prefs.jsonl")
        #expect(rows.count == 8)
        var leftModels: Set<String> = []
        for row in rows {
            let a = row["models"]?["A"]?.string, b = row["models"]?["B"]?.string
            #expect(Set([a, b]) == Set([m1, m2]) && row["chosen_model"]?.string == a && row["rejected_model"]?.string == b)
            if let a { leftModels.insert(a) }
        }
        // Shuffled per item: over 8 items each model sat on the left at least once.
        #expect(leftModels == [m1, m2])
        // Rate mode compares no models.
        config.mode = .rate
        #expect(throws: LabelError.self) { _ = try LabelSession(config: config) }
    }

    @Test func tokenAndHostGuards() async throws {
        // Off loopback every request needs the token.
        var config = try tinyConfig(try tempDir("guard"), prompts: ["Hi:"])
        config.host = "0.0.0.0"
        var s = try await TestServer.start(config)
        #expect(try await RawHTTP.request(port: s.port, "GET", "/").status == 401)
        #expect(try await RawHTTP.request(port: s.port, "GET", "/?token=wrong-token-0123456789").status == 401)
        #expect(try await RawHTTP.request(port: s.port, "GET", "/?token=\(testToken)").status == 200)
        #expect(try await s.post("/api/next", #"{"labeller":"ann"}"#, token: nil).status == 401)
        #expect(try await s.post("/api/next", #"{"labeller":"ann"}"#, token: "x" + testToken).status == 401)
        #expect(try await s.post("/api/next", #"{"labeller":"ann"}"#).status == 200)
        try await s.stop()

        // On loopback the page is open, but POSTs still need the header, and a foreign Host
        // (a DNS-rebinding page) is refused.
        config.host = "127.0.0.1"
        s = try await TestServer.start(config)
        #expect(try await RawHTTP.request(port: s.port, "GET", "/").status == 200)
        #expect(try await s.post("/api/next", #"{"labeller":"ann"}"#, token: nil).status == 401)
        #expect(try await RawHTTP.request(port: s.port, "GET", "/", host: "evil.example:\(s.port)").status == 403)
        #expect(try await RawHTTP.request(port: s.port, "GET", "/", host: "localhost:\(s.port)").status == 200)
        try await s.stop()
    }

    @Test func oversizedAndMalformedRequestsGet4xx() async throws {
        let s = try await TestServer.start(try tinyConfig(try tempDir("bad"), prompts: ["Hi:"]))
        let big = #"{"labeller":"ann","note":""# + String(repeating: "x", count: 40_000) + #""}"#
        let tooBig = try await s.post("/api/next", big)
        #expect(tooBig.status == 413, "\(tooBig.status) \(tooBig.body)")
        #expect(try await s.post("/api/next", "{not json").status == 400)
        #expect(try await s.post("/api/next", "[1,2]").status == 400)
        #expect(try await s.post("/api/next", #"{"labeller":"../etc/passwd"}"#).error.contains("labeller"))
        #expect(try await s.post("/api/next", #"{"labeller":""}"#).status == 400)
        let form = try await RawHTTP.request(port: s.port, "POST", "/api/next",
                                             headers: ["X-Label-Token": testToken, "Content-Type": "text/plain"], body: #"{"labeller":"ann"}"#)
        #expect(form.status == 415)
        #expect(try await RawHTTP.request(port: s.port, "PUT", "/api/next").status == 405)
        #expect(try await RawHTTP.request(port: s.port, "GET", "/etc/passwd").status == 404)
        _ = try await s.post("/api/next", #"{"labeller":"ann"}"#)
        #expect(try await s.post("/api/label", #"{"labeller":"ann","item":0,"choice":"C"}"#).error.contains("choice"))
        #expect(try await s.post("/api/label", #"{"labeller":"ann","item":"0","choice":"A"}"#).error.contains("item"))
        #expect(try await s.post("/api/label", #"{"labeller":"ann","item":5,"choice":"A"}"#).status == 404)
        #expect(try await s.post("/api/label", #"{"labeller":"ann","item":0,"choice":"A","thumbs":["sideways",null]}"#)
            .error.contains("thumbs[0]"))
        // Not an HTTP request at all.
        let garbage = try RawHTTP.parse(try await RawHTTP.send(port: s.port, Array("\u{1}\u{2} nonsense\r\n\r\n".utf8)))
        #expect((400..<500).contains(garbage.status))
        try await s.stop()
        #expect(try readRows(await s.session.outURL.path).isEmpty)
    }
}
