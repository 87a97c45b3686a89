// The hand-written split scanners against Swift `Regex` as the oracle, over the fixture
// corpus and some adversarial strings (PERF-NOTES: Regex is correct but ~20x slower).
import Foundation
import Testing
import Tokenizers

@Suite struct SplitScannerTests {
    static func oracle(_ pattern: String, _ text: String) throws -> [String] {
        let re = try Regex(pattern).matchingSemantics(.unicodeScalar)
        return text.matches(of: re).filter { !$0.range.isEmpty }.map { String(text.unicodeScalars[$0.range]) }
    }

    static func texts() throws -> [String] {
        let corpus = (try Fixtures.json("corpus.json")["texts"]?.array ?? []).compactMap(\.string)
        return corpus + ["'S'T'RE'VE'M'LL'D", "a'sb 'x '", "  \n\n  x", " \t\r\n y", "1 22 333 4444 55555",
                         "(( a)) ?!a", "\u{3000}\u{3000}a", "x \u{0301}y", "end   ", "😀a 😀 a"]
    }

    /// GPT-2, Llama 3 and Qwen2. (`\\w+|[^\\w\\s]+` is left out: Swift's `\\w` is not
    /// Oniguruma's, so that scanner is held to the HF fixtures of the word-suffix tokenizer.)
    @Test(arguments: SplitPatterns.handWritten.prefix(3))
    func scannerMatchesRegexOracle(pattern: String) throws {
        for t in try SplitScannerTests.texts() {
            let got = try SplitPatterns.matches(of: pattern, in: t)
            let want = try SplitScannerTests.oracle(pattern, t)
            #expect(got == want, "\(pattern.prefix(20))... on \(t.debugDescription)")
        }
    }

    @Test func unknownPatternFallsBackToRegexAndBadOnesAreErrors() throws {
        #expect(try SplitPatterns.matches(of: "[0-9]+", in: "a12b3") == ["12", "3"])
        #expect(throws: TokenizerError.self) { try SplitPatterns.matches(of: "(unclosed", in: "x") }
    }
}
