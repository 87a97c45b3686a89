// Inputs the fuzzers (Fuzzing/) found to crash or leak, each pinned after its fix.
// Leaves out findings handed to the template sandbox (loops, output size): see Fuzzing/Findings.
import Foundation
import Testing
import Tokenizers

@Suite struct FuzzFindingsTests {
    /// Found by FuzzJinja (LeakSanitizer): a macro's closure captured the scope that holds
    /// the macro, a reference cycle that kept the scope, the macro body and the whole render
    /// context alive after every render of a template that defines a macro.
    @Test func renderingAMacroFreesTheContext() throws {
        final class Sentinel {}
        weak var watched: Sentinel?
        try {
            let sentinel = Sentinel()
            watched = sentinel
            let f = JinjaFunction { _, _ in withExtendedLifetime(sentinel) { .string("x") } }
            let template = try ChatTemplate("{% macro m(a, b='|') %}{{ f() }}{{ b }}{% endmacro %}{{ m(1) }}")
            #expect(try template.render(["f": .function(f)]) == "x|")
        }()
        #expect(watched == nil, "the render context outlived the render (a macro's reference cycle)")
    }

    /// Found by FuzzTokenizer: one vocab id far above the number of entries sized the id table
    /// by that id (17.8 GB for 1,111,111,111). The table is now bounded by the entries present.
    @Test func aSparseHugeVocabIdIsRefusedBeforeAnyTableIsSized() throws {
        let findings = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzzing/Findings")
        for name in ["tokenizer-vocab-id-1e9.json", "tokenizer-huge-vocab-id.json"] {
            let data = try Data(contentsOf: findings.appendingPathComponent(name))
            #expect("\(name)", performing: { _ = try Tokenizer(tokenizerJSON: data) }, throws: { "\($0)".contains("model.vocab") })
        }
        // Below the id type's bound (2^24), still 256 MB of table for two entries.
        let sparse = #"{"model":{"type":"BPE","vocab":{"a":0,"b":16000000},"merges":[]}}"#
        #expect(performing: { _ = try Tokenizer(tokenizerJSON: Data(sparse.utf8)) },
                throws: { "\($0)".contains("16000000") && "\($0)".contains("2 entries") })
    }
}
