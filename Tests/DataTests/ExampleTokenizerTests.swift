// Tests of tokenization into prompt/completion examples: plain rows (prompt + completion +
// EOS), chat rows through the template (completion = the difference), conversations,
// truncation (prompt tail, completion head, BOS kept) and empty responses (error or skip).
import Foundation
import Testing
import Tokenizers
import Data

@Test func plainRowsArePromptThenCompletionThenEOS() throws {
    let tok = try Fixtures.tokenizer("gpt2")
    let et = try ExampleTokenizer(tokenizer: tok)
    let eos = Int32(tok.eosTokenId!)
    let rows = [SFTRow(.promptCompletion(prompt: "The capital of France is", completion: " Paris.")),
                SFTRow(.promptCompletion(prompt: "A", completion: " B<|endoftext|>")),
                SFTRow(.text("Hello world"))]
    let (ex, report) = try et.sft(rows)
    let p = i32(tok.encode("The capital of France is")), c = i32(tok.encode(" Paris.", addSpecialTokens: false))
    #expect(ex[0].ids == p + c + [eos] && ex[0].promptLength == p.count)
    #expect(ex[1].ids.filter { $0 == eos }.count == 1 && ex[1].ids.last == eos)   // EOS not doubled
    #expect(ex[2].ids == i32(tok.encode("Hello world")) + [eos] && ex[2].promptLength == 0)
    #expect(report.rows == 3 && report.examples == 3 && report.truncated == 0)
    let noEOS = try ExampleTokenizer(tokenizer: tok, options: .init(appendEOS: false))
    #expect(try noEOS.sft([rows[0]]).examples[0].ids == p + c)
}

@Test func chatRowsUseTheTemplateDifference() throws {
    let tok = try Fixtures.tokenizer("qwen2")
    let et = try ExampleTokenizer(tokenizer: tok)
    let prompt = [ChatMessage(role: "user", content: "What is 2+2?")]
    let completion = [ChatMessage(role: "assistant", content: "4")]
    let (ex, report) = try et.sft([SFTRow(.chatPromptCompletion(prompt: prompt, completion: completion))])
    let promptIds = i32(try tok.encodeChat(prompt, addGenerationPrompt: true))
    #expect(ex[0].ids == i32(try tok.encodeChat(prompt + completion)))
    #expect(Array(ex[0].promptIds) == promptIds)
    #expect(tok.decode(ex[0].completionIds.map(Int.init)) == "4<|im_end|>\n")
    #expect(tok.decode(ex[0].promptIds.map(Int.init)).hasSuffix("<|im_start|>assistant\n"))
    #expect(report.promptPrefixMismatches.isEmpty)
}

@Test func conversationsAllTokensOrFinalAssistantTurn() throws {
    let tok = try Fixtures.tokenizer("qwen2")
    let msgs = [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello!"),
                ChatMessage(role: "user", content: "Bye"), ChatMessage(role: "assistant", content: "Goodbye.")]
    let all = try ExampleTokenizer(tokenizer: tok).sft([SFTRow(.conversation(msgs))]).examples[0]
    #expect(all.ids == i32(try tok.encodeChat(msgs)) && all.promptLength == 0)
    let last = try ExampleTokenizer(tokenizer: tok, options: .init(conversationLoss: .finalAssistantTurn))
    let e = try last.sft([SFTRow(.conversation(msgs))]).examples[0]
    #expect(e.ids == all.ids)
    #expect(e.promptLength == (try tok.encodeChat(Array(msgs.prefix(3)), addGenerationPrompt: true)).count)
    #expect(tok.decode(e.completionIds.map(Int.init)) == "Goodbye.<|im_end|>\n")
    let noAssistant = SFTRow(.conversation([ChatMessage(role: "user", content: "x")]), source: SourceLine(file: "c.jsonl", line: 4))
    #expect(errorText { _ = try last.sft([noAssistant]) } == #"c.jsonl:4: field "messages": no assistant message to train on"#)
}

@Test func truncationKeepsPromptTailAndCompletionHead() throws {
    let tok = try Fixtures.tokenizer("gpt2")
    let eos = Int32(tok.eosTokenId!)
    let prompt = "one two three four five six seven eight", completion = " alpha beta gamma delta epsilon"
    let p = i32(tok.encode(prompt)), c = i32(tok.encode(completion, addSpecialTokens: false)) + [eos]
    let row = SFTRow(.promptCompletion(prompt: prompt, completion: completion))
    // maxLength only: completion head.
    let a = try ExampleTokenizer(tokenizer: tok, options: .init(truncation: .init(maxLength: p.count + 2))).sft([row])
    #expect(a.examples[0].ids == p + c.prefix(2) && a.report.truncated == 1)
    // maxPromptLength: prompt tail, then completion head within maxLength.
    let b = try ExampleTokenizer(tokenizer: tok, options: .init(truncation: .init(maxLength: 6, maxPromptLength: 3))).sft([row])
    #expect(b.examples[0].ids == Array(p.suffix(3)) + c.prefix(3) && b.examples[0].promptLength == 3)
    // Fits: untouched.
    let n = try ExampleTokenizer(tokenizer: tok, options: .init(truncation: .init(maxLength: 1000))).sft([row])
    #expect(n.examples[0].ids == p + c && n.report.truncated == 0)
}

@Test func promptTruncationKeepsBOS() throws {
    let tok = try Fixtures.tokenizer("llama3")
    let bos = Int32(tok.bosTokenId!)
    let text = "one two three four five six"
    let p = i32(tok.encode(text))
    #expect(p.first == bos)
    let policy = TruncationPolicy(maxPromptLength: 3)
    #expect(policy.truncatePrompt(p, bos: bos) == [bos] + p.suffix(2))
    #expect(policy.truncatePrompt(p, bos: nil) == Array(p.suffix(3)))
    let ex = try ExampleTokenizer(tokenizer: tok, options: .init(truncation: policy)).prompts([PromptRow(.text(text))])
    #expect(ex.prompts[0].ids == [bos] + p.suffix(2) && ex.report.truncated == 1)
}

@Test func emptyResponseIsAnErrorOrACountedSkip() throws {
    let tok = try Fixtures.tokenizer("gpt2")
    let long = SFTRow(.promptCompletion(prompt: "one two three four five six", completion: " yes"), source: SourceLine(file: "data.jsonl", line: 17))
    let short = SFTRow(.promptCompletion(prompt: "one", completion: " yes"), source: SourceLine(file: "data.jsonl", line: 18))
    let promptTokens = tok.encode("one two three four five six").count
    let strict = try ExampleTokenizer(tokenizer: tok, options: .init(truncation: .init(maxLength: 4)))
    #expect(errorText { _ = try strict.sft([short, long]) }
            == "data.jsonl:17: the response has zero tokens after truncation (prompt has \(promptTokens) tokens, max_length 4); raise max_length, set max_prompt_length, or skip such rows")
    let lenient = try ExampleTokenizer(tokenizer: tok, options: .init(truncation: .init(maxLength: 4, onEmptyCompletion: .skip)))
    let (ex, report) = try lenient.sft([short, long])
    #expect(ex.map(\.source.line) == [18] && report.skippedEmptyCompletion == [long.source] && report.examples == 1)
    #expect(errorText { _ = try lenient.sft([long]) } == "data.jsonl: no examples left (1 rows skipped because truncation emptied their responses)")
    #expect(errorText { _ = try ExampleTokenizer(tokenizer: tok, options: .init(truncation: .init(maxLength: 0))) }
            == "max_length must be >= 1, got 0")
}

@Test func tokenizerWithoutEOSIsRefusedForPlainRows() throws {
    let json = try Foundation.Data(contentsOf: Fixtures.url("gpt2/tokenizer.json"))
    let bare = try Tokenizer(tokenizerJSON: json)
    #expect(bare.eosTokenId == nil)
    let row = SFTRow(.text("hi"), source: SourceLine(file: "t.jsonl", line: 2))
    #expect(errorText { _ = try ExampleTokenizer(tokenizer: bare).sft([row]) }
            == "t.jsonl:2: the tokenizer has no eos_token to append; set append_eos to false")
}

@Test func preferencePairsShareTheirPrompt() throws {
    let gpt2 = try Fixtures.tokenizer("gpt2")
    let eos = Int32(gpt2.eosTokenId!)
    let rows = try PreferenceRow.load(Fixtures.url("preferences.jsonl"))
    let (groups, _) = try ExampleTokenizer(tokenizer: gpt2).preferences([rows[0]])
    let p = i32(gpt2.encode("Q: best color?"))
    let (chosen, rejected) = (groups[0].sequences[0], groups[0].sequences[1])
    #expect(groups[0].better == [0] && groups[0].worse == [1])
    #expect(chosen.ids == p + i32(gpt2.encode(" Blue.", addSpecialTokens: false)) + [eos])
    #expect(rejected.ids == p + i32(gpt2.encode(" Potato.", addSpecialTokens: false)) + [eos])
    #expect(chosen.promptLength == p.count && rejected.promptLength == p.count)

    let qwen = try Fixtures.tokenizer("qwen2")
    let chat = try ExampleTokenizer(tokenizer: qwen).preferences([rows[1]]).groups[0].sequences
    #expect(chat[0].promptIds == chat[1].promptIds)
    #expect(qwen.decode(chat[0].completionIds.map(Int.init)) == "Hi!<|im_end|>\n")
    #expect(qwen.decode(chat[1].completionIds.map(Int.init)) == "No.<|im_end|>\n")
    // One response emptied by truncation drops the whole pair.
    let tight = try ExampleTokenizer(tokenizer: gpt2, options: .init(truncation: .init(maxLength: p.count, onEmptyCompletion: .skip)))
    #expect(errorText { _ = try tight.preferences([rows[0]]) }?.contains("no examples left (1 rows skipped") == true)

    // A rated row: every response once; ties and gaps under min_rating_gap give no comparison.
    let (rated, report) = try ExampleTokenizer(tokenizer: gpt2).preferences([rows[2]], minRatingGap: 1)
    let r = i32(gpt2.encode("Rate:"))
    #expect(rated[0].sequences.map(\.ids) == [" good", " bad", " fine"].map { r + i32(gpt2.encode($0, addSpecialTokens: false)) + [eos] })
    #expect(rated[0].better == [0, 2] && rated[0].worse == [1, 1] && report.skippedNoComparison.isEmpty)
    let ratedChat = try ExampleTokenizer(tokenizer: qwen).preferences([rows[3]]).groups[0]
    #expect(ratedChat.sequences.map(\.ids) == chat.map(\.ids) && ratedChat.better == [0] && ratedChat.worse == [1])
    let (none, noneReport) = try ExampleTokenizer(tokenizer: gpt2).preferences([rows[0], rows[2]], minRatingGap: 5)
    #expect(none.count == 1 && noneReport.skippedNoComparison == [rows[2].source])
}

@Test func promptsForGeneration() throws {
    let qwen = try Fixtures.tokenizer("qwen2")
    let rows = try PromptRow.load(Fixtures.url("prompts.jsonl"))
    let (prompts, report) = try ExampleTokenizer(tokenizer: qwen).prompts(rows)
    #expect(prompts.count == 3 && report.examples == 3)
    #expect(prompts[0].ids == i32(qwen.encode("What is 6*7?")) && prompts[0].answer == "42")
    #expect(qwen.decode(prompts[1].ids.map(Int.init)).hasSuffix("Name a prime.<|im_end|>\n<|im_start|>assistant\n"))
    #expect(errorText { _ = try ExampleTokenizer(tokenizer: qwen).prompts([PromptRow(.text(""), source: SourceLine(file: "p", line: 3))]) }
            == #"p:3: field "prompt": no tokens"#)
}
