// Test helpers: fixture locations (found from this file's path), small tokenizers copied
// from the Tokenizers fixtures (gpt2: plain BPE; qwen2: ChatML template; llama3: BOS and
// a header-style template), and error-text capture.
import Foundation
import Tokenizers
import Data

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func url(_ name: String) -> URL { root.appendingPathComponent(name) }
    static func tokenizer(_ name: String) throws -> Tokenizer { try Tokenizer(directory: url(name)) }
}

func jsonl(_ lines: String...) -> Foundation.Data { Foundation.Data(lines.joined(separator: "\n").utf8) }

/// The error's description, or nil if `body` did not throw.
func errorText(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch { return "\(error)" }
}

func i32(_ ids: [Int]) -> [Int32] { ids.map(Int32.init) }
