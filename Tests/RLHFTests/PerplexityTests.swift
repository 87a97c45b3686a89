// `rlhf perplexity`'s computation against transformers on a tiny Llama with a real
// (small) Llama-3-style tokenizer: same ids, same summed NLL.
import Foundation
import Models
import RLHF
import Testing

func rlhfFixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

@Suite struct PerplexityTests {
    @Test func matchesTransformersOnDocuments() throws {
        let golden = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: rlhfFixture("perplexity.json")))) as! [String: Any]
        let bundle = try ModelBundle(directory: rlhfFixture("tiny-llama"))
        let docs = golden["documents"] as! [[String: Any]]
        let ids = docs.map { bundle.tokenizer.encode($0["text"] as! String).map(Int32.init) }
        #expect(ids == docs.map { ($0["ids"] as! [Int]).map(Int32.init) })
        let result = try Perplexity.evaluate(bundle.model, documents: ids)
        #expect(result.tokens == golden["tokens"] as! Int)
        let nll = (golden["nll"] as! NSNumber).doubleValue
        #expect(abs(result.nll - nll) < 1e-5, "nll \(result.nll) vs transformers \(nll)")
        #expect(bundle.eosTokenIds.count == 2)
    }

    @Test func longDocumentsAreScoredOnceInWindows() throws {
        let bundle = try ModelBundle(directory: rlhfFixture("tiny-llama"))
        let long = (0..<300).map { Int32(($0 * 7) % 500 + 3) }
        let r = try Perplexity.evaluate(bundle.model, documents: [long])
        #expect(r.tokens == 299 && r.nll.isFinite)
    }

    @Test func documentsErrorsNameTheLine() throws {
        let path = NSTemporaryDirectory() + "docs-\(UUID().uuidString).jsonl"
        try "{\"text\": \"a\"}\n\n{\"txt\": \"b\"}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(performing: { _ = try TextDocuments.read(path) }, throws: { "\($0)".contains(":3: missing string field \"text\"") })
    }
}
