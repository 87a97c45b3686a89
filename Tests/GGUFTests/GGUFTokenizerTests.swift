// Tokenizers synthesized from GGUF metadata against HF `tokenizers` on the same vocabulary,
// for each supported `pre` name (llama-bpe with BOS, qwen2 with NFC, smollm, gpt2), the
// chat template carried over, and unsupported tokenizer kinds refused by name.
import Foundation
import GGUF
import Testing
import Tokenizers

@Suite struct GGUFTokenizerTests {
    /// The tiny llama file's metadata with `tokenizer.ggml.pre` and `add_bos_token` replaced.
    func metadata(pre: String, addBos: Bool) throws -> GGUFMetadata {
        var m = try GGUFFile(path: Fixture.path("tiny_llama.gguf")).metadata
        m["tokenizer.ggml.pre"] = .string(pre)
        m["tokenizer.ggml.add_bos_token"] = .bool(addBos)
        return m
    }

    @Test(arguments: [("llama-bpe", true), ("qwen2", false), ("smollm", false), ("gpt2", false)])
    func encodingsMatchHFTokenizers(_ pre: String, _ addBos: Bool) throws {
        let cases = (try Fixture.json("tiny_expected.json")["tokenizer"] as! [String: Any])[pre] as! [[String: Any]]
        let tok = try GGUFTokenizer.load(metadata(pre: pre, addBos: addBos))
        for c in cases {
            let text = c["text"] as! String
            #expect(tok.encode(text) == c["ids"] as! [Int], "\(pre): \(text.debugDescription)")
        }
    }

    @Test func chatTemplateAndSpecialTokens() throws {
        let f = try GGUFFile(path: Fixture.path("tiny_qwen2.gguf"))
        let tok = try GGUFTokenizer.load(f)
        let ids = try tok.encodeChat([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
        #expect(tok.decode(ids, skipSpecialTokens: false) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(ids.first == 1)   // <|im_start|> is one special token
        #expect(tok.eosTokenId == 2 && tok.bosTokenId == 0)
        let (_, cfg) = try GGUFTokenizer.files(f)
        let c = try JSONSerialization.jsonObject(with: cfg) as! [String: Any]
        #expect(c["chat_template"] as? String == (try f.metadata.string("tokenizer.chat_template")))
        #expect(c["eos_token"] as? String == "<|im_end|>")
    }

    @Test func unsupportedPreIsNamed() throws {
        do { _ = try GGUFTokenizer.load(metadata(pre: "falcon", addBos: false)); Issue.record("no error") } catch {
            #expect("\(error)".contains("tiny_llama.gguf") && "\(error)".contains("tokenizer.ggml.pre \"falcon\""))
        }
        var m = try metadata(pre: "gpt2", addBos: false)
        m["tokenizer.ggml.model"] = .string("llama")
        do { _ = try GGUFTokenizer.load(m); Issue.record("no error") } catch {
            #expect("\(error)".contains("tokenizer.ggml.model \"llama\""))
        }
    }
}
