// libFuzzer target: tokenizer.json (optionally a separator and tokenizer_config.json) loaded
// into a Tokenizer, then a few fixed strings encoded and the ids decoded back. Thrown errors
// are accepted outcomes; only crashes count. Leaves out chat templates (FuzzJinja).
import Foundation
import FuzzSupport
import Tokenizers

/// Texts that reach the byte fallback, added tokens, digits, whitespace runs and non-ASCII.
private let samples = ["Hello world! It's 2024.", "  <|endoftext|>\n\n\tx ", "naïve café 東京 🙂", "", "\u{0}\u{7f} ab"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = FuzzInput.split(UnsafeRawBufferPointer(start: data, count: size))
    let config = parts.count > 1 ? Data(parts[1]) : nil
    guard let tokenizer = try? Tokenizer(tokenizerJSON: Data(parts[0]), configJSON: config) else { return 0 }
    for text in samples {
        let ids = tokenizer.encode(text)
        _ = tokenizer.decode(ids)
        _ = tokenizer.decode(ids, skipSpecialTokens: true)
    }
    _ = tokenizer.encode("question", pair: "answer")
    return 0
}
