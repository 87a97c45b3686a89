// Bad input gives a clear error or documented behaviour, never a crash: malformed JSON,
// unsupported components, merges naming missing tokens, invalid UTF-8, unknown ids.
import Foundation
import Testing
import Tokenizers

@Suite struct BadInputTests {
    func gpt2JSON() throws -> String {
        try String(contentsOf: Fixtures.root.appendingPathComponent("gpt2/tokenizer.json"), encoding: .utf8)
    }

    @Test func malformedJSON() throws {
        for bad in ["", "{", "{\"model\": }", "[1, 2", "{\"a\": \"\\u12\"}", "{\"a\": 1} x"] {
            #expect(throws: TokenizerError.self) { try Tokenizer(tokenizerJSON: Data(bad.utf8)) }
        }
    }

    @Test func unsupportedComponentsAreNamed() throws {
        let model = #""model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}"#
        let cases: [(String, String, String)] = [
            (#"{"model":{"type":"WordPiece","vocab":{"a":0}}}"#, "model", "WordPiece"),
            (#"{\#(model),"pre_tokenizer":{"type":"UnicodeScripts"}}"#, "pre-tokenizer", "UnicodeScripts"),
            (#"{\#(model),"normalizer":{"type":"BertNormalizer"}}"#, "normalizer", "BertNormalizer"),
            (#"{\#(model),"decoder":{"type":"CTC"}}"#, "decoder", "CTC"),
            (#"{\#(model),"post_processor":{"type":"Mystery"}}"#, "post-processor", "Mystery"),
        ]
        #expect(try Tokenizer(tokenizerJSON: Data("{\(model)}".utf8)).encode("ab") == [2])
        for (text, component, type) in cases {
            #expect(throws: TokenizerError.unsupported(component: component, type: type)) {
                try Tokenizer(tokenizerJSON: Data(text.utf8))
            }
        }
    }

    @Test func mergeWithMissingTokenIsAnError() throws {
        let text = try gpt2JSON().replacingOccurrences(of: "\"merges\":[", with: "\"merges\":[[\"zzq\",\"qzz\"],")
        #expect(throws: TokenizerError.missingVocabEntry("merge 0 left part 'zzq'")) { try Tokenizer(tokenizerJSON: Data(text.utf8)) }
    }

    /// Invalid UTF-8 becomes U+FFFD per maximal invalid subsequence before tokenizing (what
    /// Python's `bytes.decode("utf-8", "replace")` hands to HF).
    @Test func invalidUTF8IsReplaced() throws {
        let tok = try Fixtures.tokenizer("gpt2")
        let bytes: [UInt8] = [0x61, 0xFF, 0x62, 0xE2, 0x82, 0x63, 0xF0, 0x9F]
        #expect(tok.encode(bytes: bytes) == tok.encode("a\u{FFFD}b\u{FFFD}c\u{FFFD}"))
    }

    @Test func unknownIdsAreSkippedInDecode() throws {
        let tok = try Fixtures.tokenizer("gpt2")
        let ids = tok.encode("Hello world")
        #expect(tok.decode(ids + [999_999, -5]) == "Hello world")
    }

    @Test func missingDirectoryIsAnIOError() {
        #expect(throws: TokenizerError.self) { try Tokenizer(directory: URL(fileURLWithPath: "/nonexistent/dir")) }
    }
}
