// Public window onto the split-pattern scanners, so tests (and curious callers) can hold the
// hand-written matchers to Swift `Regex` as oracle. Leaves out everything else.

public enum SplitPatterns {
    /// The patterns with a hand-written scanner (GPT-2, Llama 3, Qwen2, Whitespace).
    public static let handWritten: [String] = [SplitScanner.gpt2Pattern, SplitScanner.llama3Pattern,
                                               SplitScanner.qwen2Pattern, SplitScanner.wordOrPunctPattern]

    /// The matches of `pattern` in `text`, in order, as the Split pre-tokenizer finds them.
    public static func matches(of pattern: String, in text: String) throws -> [String] {
        let scanner = try SplitScanner.forRegex(pattern)
        var s = text
        var ranges: [Int] = []
        s.withUTF8 { scanner.matches($0, into: &ranges) }
        let bytes = Array(text.utf8)
        return stride(from: 0, to: ranges.count, by: 2).map { String(decoding: bytes[ranges[$0]..<ranges[$0 + 1]], as: UTF8.self) }
    }
}
