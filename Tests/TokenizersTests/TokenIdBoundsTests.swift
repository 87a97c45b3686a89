// Ids and lengths in tokenizer.json size tables and padded rows: an id near 2^62 or a
// padding length of 2^40 must be a load error naming the field, never a crash or a
// terabyte allocation.
import Foundation
import Testing
import Tokenizers

@Suite struct TokenIdBoundsTests {
    static let model = #""model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}"#

    func loadError(_ json: String) -> String? {
        do { _ = try Tokenizer(tokenizerJSON: Data(json.utf8)); return nil } catch { return "\(error)" }
    }

    @Test func hugeVocabIdIsRefused() {
        let e = loadError(#"{"model":{"type":"BPE","vocab":{"a":0,"b":4611686018427387904},"merges":[]}}"#)
        #expect(e?.contains("'b'") == true && e?.contains("4611686018427387904") == true, "\(e ?? "loaded")")
        // Sparse but allocatable-looking: 2^30 would size a 16 GiB id table.
        #expect(loadError(#"{"model":{"type":"BPE","vocab":{"a":0,"b":1073741824},"merges":[]}}"#) != nil)
    }

    @Test func hugeAddedTokenIdIsRefused() throws {
        // Before the check this loaded, then trapped converting the id to Int32 while encoding.
        let json = #"{\#(Self.model),"added_tokens":[{"id":4611686018427387904,"content":"<x>","special":true}]}"#
        let e = loadError(json)
        #expect(e?.contains("added_tokens") == true && e?.contains("<x>") == true, "\(e ?? "loaded")")
    }

    @Test func hugePostProcessorIdIsRefused() {
        let tp = #""post_processor":{"type":"TemplateProcessing","#
            + #""single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"#
            + #""special_tokens":{"<s>":{"id":"<s>","ids":[4611686018427387904],"tokens":["<s>"]}}}"#
        #expect(loadError("{\(Self.model),\(tp)}")?.contains("post_processor") == true)
        let roberta = #""post_processor":{"type":"RobertaProcessing","cls":["<s>",4611686018427387904],"sep":["</s>",2]}"#
        #expect(loadError("{\(Self.model),\(roberta)}")?.contains("cls") == true)
        let short = #""post_processor":{"type":"BertProcessing","cls":["<s>"],"sep":["</s>",2]}"#
        #expect(loadError("{\(Self.model),\(short)}") != nil)
    }

    @Test func hugePaddingIsRefused() {
        let fixed = #""padding":{"strategy":{"Fixed":1099511627776},"direction":"Right","pad_id":0}"#
        #expect(loadError("{\(Self.model),\(fixed)}")?.contains("Fixed") == true)
        let multiple = #""padding":{"strategy":"BatchLongest","pad_to_multiple_of":1099511627776,"pad_id":0}"#
        #expect(loadError("{\(Self.model),\(multiple)}")?.contains("pad_to_multiple_of") == true)
        let truncation = #""truncation":{"max_length":-9223372036854775807,"direction":"Right","stride":0}"#
        #expect(loadError("{\(Self.model),\(truncation)}")?.contains("max_length") == true)
    }

    @Test func hugeFixedPaddingArgumentIsRefused() throws {
        let tok = try Tokenizer(tokenizerJSON: Data("{\(Self.model)}".utf8))
        #expect(throws: TokenizerError.self) { try tok.encodeBatch(["ab"], padding: Padding(length: .fixed(1 << 40), padId: 0)) }
    }
}
