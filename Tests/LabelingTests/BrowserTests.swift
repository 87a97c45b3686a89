// The labelling page in a real browser: headless chromium driven over its DevTools pipe opens
// the page, enters a name, presses the keyboard shortcuts for a few items (a thumb, A, B,
// back, tie, skip) and the rows written are checked. Skips, saying why, without chromium.
// RLHF_LABEL_MODEL swaps the tiny fixture model for a real one; RLHF_LABEL_SCREENSHOT=PATH
// saves the first item's screenshot there (docs/label.png is made this way).
import Foundation
import Labeling
import Testing
import Tokenizers

@Suite(.serialized) struct BrowserTests {
    @Test func keyboardLabelsItemsInHeadlessChromium() async throws {
        guard let chromium = DevToolsPipe.findChromium() else {
            print("BrowserTests skipped: no chromium on PATH (apt-get install chromium, or set RLHF_CHROMIUM)")
            return
        }
        let env = ProcessInfo.processInfo.environment
        let dir = try tempDir("browser")
        var config = try tinyConfig(dir, prompts: ["Write a haiku about the sea.", "Give one tip for learning to cook.",
                                                   "Suggest a name for a grey cat."], tokens: 12)
        if let model = env["RLHF_LABEL_MODEL"] {
            config.models = [model]
            config.sampling.maxNewTokens = 48
            config.sampling.temperature = 0.8
        }
        let server = try await TestServer.start(config)
        try FileManager.default.createDirectory(atPath: dir + "/profile", withIntermediateDirectories: true)
        let pipe = try DevToolsPipe(chromium: chromium, profileDir: dir + "/profile")
        defer { pipe.close() }
        let page = try await BrowserPage.open(pipe, url: "http://127.0.0.1:\(server.port)/", width: 1100, height: 760)

        try await page.wait(for: "document.readyState === 'complete' && document.activeElement && document.activeElement.id === 'name'")
        try await page.type("tester")
        try await page.press("Enter")
        func ready(_ n: Int) -> String {
            "document.getElementById('item-no').textContent === '#\(n)' && !document.getElementById('pick-A').disabled"
        }
        try await page.wait(for: ready(1))
        // Only the pair controls show (a CSS `display` must not defeat the `hidden` attribute).
        #expect(try await page.eval("getComputedStyle(document.getElementById('rate-controls')).display") == .string("none"))
        try await page.press("q")    // thumbs up for A
        #expect(try await page.eval("document.getElementById('thumb-0-up').getAttribute('aria-pressed')") == .string("true"))
        let png = try await page.screenshot()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        if let path = env["RLHF_LABEL_SCREENSHOT"] { try png.write(to: URL(fileURLWithPath: path), options: .atomic) }
        try await page.press("a")
        try await page.wait(for: ready(2))
        try await page.press("b")
        try await page.wait(for: ready(3))
        try await page.press("z")    // back to #2, which shows the choice made
        try await page.wait(for: ready(2) + " && document.getElementById('status').textContent.includes('you chose B')")
        try await page.press("t")
        try await page.wait(for: ready(3))
        try await page.press("s")
        try await page.wait(for: "!document.getElementById('finished').hidden")
        #expect(try await page.eval("document.getElementById('progress').textContent") == .string("3 / 3 labelled"))
        try await server.stop()

        let rows = try readRows(dir + "/prefs.jsonl")
        #expect(rows.count == 1 && rows.first?["choice"]?.string == "A" && rows.first?["labeller"]?.string == "tester")
        #expect(rows.first?["thumbs"]?["A"]?.string == "up")
        let unpaired = try readRows(dir + "/prefs.unpaired.jsonl")
        #expect(unpaired.map { $0["choice"]?.string } == ["tie", "skip"] && unpaired.map { $0["item"]?.int } == [1, 2])
    }
}
