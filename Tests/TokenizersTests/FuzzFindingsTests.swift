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
}
