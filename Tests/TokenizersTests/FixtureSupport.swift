// Test helpers: where the golden fixtures live (found from this file's path, no bundle
// resources) and how to read them. Fixtures come from Reference/make_tokenizer_fixtures.py.
import Foundation
import Tokenizers

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let tokenizerNames = ["gpt2", "llama3", "qwen2", "llama2-sp", "mistral-sp", "metaspace-split", "added-tokens", "word-suffix"]

    static func json(_ path: String) throws -> JSONValue {
        try JSONValue.parse(Data(contentsOf: root.appendingPathComponent(path)))
    }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer(directory: root.appendingPathComponent(name))
    }

    struct Case {
        var text: String
        var ids: [Int]
        var idsNoSpecial: [Int]
        var decoded: String
        var decodedSkip: String
    }

    static func cases(_ name: String) throws -> [Case] {
        let j = try json("\(name)/expected.json")
        return (j["cases"]?.array ?? []).map { c in
            let ids = ints(c["ids"])
            let decoded = c["decoded"]?.string ?? ""
            return Case(text: c["text"]?.string ?? "", ids: ids,
                        idsNoSpecial: c["ids_no_special"].map(ints) ?? ids,
                        decoded: decoded, decodedSkip: c["decoded_skip"]?.string ?? decoded)
        }
    }

    static func ints(_ v: JSONValue?) -> [Int] { v?.array?.compactMap(\.int) ?? [] }
}

/// "first difference at i: got x, want y" — for readable failures.
func firstDifference(_ got: [Int], _ want: [Int]) -> String {
    for i in 0..<max(got.count, want.count) {
        let g = i < got.count ? String(got[i]) : "end", w = i < want.count ? String(want[i]) : "end"
        if g != w { return "first difference at \(i): got \(g), want \(w) (lengths \(got.count) vs \(want.count))" }
    }
    return "equal"
}
