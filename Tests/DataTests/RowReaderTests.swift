// Tests of the JSONL row readers: every TRL shape, blank lines skipped with line numbers
// kept, and each kind of bad input named by file, line and field.
import Foundation
import Testing
import Tokenizers
import Data

@Test func sftFixtureShapesAndLineNumbers() throws {
    let rows = try SFTRow.load(Fixtures.url("sft.jsonl"))
    #expect(rows.map(\.source.line) == [1, 3, 5, 6])            // lines 2 and 4 are blank
    #expect(rows[0].content == .promptCompletion(prompt: "The capital of France is", completion: " Paris."))
    #expect(rows[1].content == .text("Hello world, this is plain text."))
    #expect(rows[2].content == .conversation([ChatMessage(role: "user", content: "Hi"),
                                              ChatMessage(role: "assistant", content: "Hello! How can I help?")]))
    #expect(rows[3].content == .chatPromptCompletion(prompt: [ChatMessage(role: "user", content: "What is 2+2?")],
                                                     completion: [ChatMessage(role: "assistant", content: "4")]))
    #expect(rows[0].source.description == "sft.jsonl:1")
}

@Test func sftBadRowsNameFileLineAndField() {
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"prompt": "a", "completion": "b"}"#, "", #"{"prompt": "a"}"#), file: "data.jsonl") }
            == #"data.jsonl:3: missing field "completion""#)
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"completion": "b"}"#), file: "data.jsonl") } == #"data.jsonl:1: missing field "prompt""#)
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"prompt": "a", "completion": null}"#), file: "d.jsonl") }
            == #"d.jsonl:1: missing field "completion""#)
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"prompt": "a", "completion": 3}"#), file: "d.jsonl") }
            == #"d.jsonl:1: field "completion": expected a string or a list of messages, got a number"#)
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"text": ["x"]}"#), file: "d.jsonl") }
            == #"d.jsonl:1: field "text": expected a string, got a list"#)
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}]}"#), file: "d.jsonl") }
            == #"d.jsonl:1: field "messages[1]": missing "content""#)
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"messages": [{"role": 1, "content": "hi"}]}"#), file: "d.jsonl") }
            == #"d.jsonl:1: field "messages[0].role": expected a string, got a number"#)
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"messages": []}"#), file: "d.jsonl") }
            == #"d.jsonl:1: field "messages": empty list of messages"#)
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"messages": ["hi"]}"#), file: "d.jsonl") }
            == #"d.jsonl:1: field "messages[0]": expected a message object, got a string"#)
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"prompt": "a", "completion": [{"role": "assistant", "content": "b"}]}"#), file: "d.jsonl") }
            == #"d.jsonl:1: fields "prompt" and "completion" must both be strings or both be lists of messages"#)
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"{"question": "a", "answer": "b"}"#), file: "d.jsonl") }
            == #"d.jsonl:1: expected fields "prompt"+"completion", "text" or "messages"; found "question", "answer""#)
}

@Test func malformedLinesAndEmptyFiles() {
    let notJSON = errorText { _ = try SFTRow.parse(jsonl(#"{"text": "ok"}"#, #"{"text": "unterminated}"#), file: "data.jsonl") } ?? ""
    #expect(notJSON.hasPrefix("data.jsonl:2: not valid JSON ("), "\(notJSON)")
    #expect(errorText { _ = try SFTRow.parse(jsonl(#"["text"]"#), file: "data.jsonl") } == "data.jsonl:1: expected a JSON object, got a list")
    #expect(errorText { _ = try SFTRow.parse(jsonl(""), file: "data.jsonl") } == "data.jsonl: empty dataset (no rows; blank lines are skipped)")
    #expect(errorText { _ = try SFTRow.parse(jsonl("", "  ", "\t", ""), file: "data.jsonl") } == "data.jsonl: empty dataset (no rows; blank lines are skipped)")
    let missing = errorText { _ = try SFTRow.load(Fixtures.url("no-such-file.jsonl")) } ?? ""
    #expect(missing.hasPrefix("no-such-file.jsonl: cannot read"), "\(missing)")
    // CRLF endings and a BOM are fine.
    let crlf = Foundation.Data([0xEF, 0xBB, 0xBF] + Array("{\"text\": \"a\"}\r\n\r\n{\"text\": \"b\"}\r\n".utf8))
    #expect((try? SFTRow.parse(crlf, file: "w.jsonl").map(\.source.line)) == [1, 3])
}

@Test func preferenceRows() throws {
    let rows = try PreferenceRow.load(Fixtures.url("preferences.jsonl"))
    #expect(rows[0].content == .plain(prompt: "Q: best color?", chosen: " Blue.", rejected: " Potato."))
    #expect(rows[1].content == .chat(prompt: [ChatMessage(role: "user", content: "Say hi")],
                                     chosen: [ChatMessage(role: "assistant", content: "Hi!")],
                                     rejected: [ChatMessage(role: "assistant", content: "No.")]))
    #expect(errorText { _ = try PreferenceRow.parse(jsonl(#"{"prompt": "p", "chosen": "c"}"#), file: "prefs.jsonl") }
            == #"prefs.jsonl:1: missing field "rejected""#)
    #expect(errorText { _ = try PreferenceRow.parse(jsonl(#"{"prompt": "p", "chosen": "c", "rejected": [{"role": "assistant", "content": "r"}]}"#), file: "p.jsonl") }
            == #"p.jsonl:1: fields "prompt", "chosen" and "rejected" must all be strings or all be lists of messages"#)
    #expect(rows[2].content == .rated(prompt: .text("Rate:"), completions: [.text(" good"), .text(" bad"), .text(" fine")], ratings: [2, -1.5, 2]))
    #expect(rows[3].content == .rated(prompt: .messages([ChatMessage(role: "user", content: "Say hi")]),
                                      completions: [.messages([ChatMessage(role: "assistant", content: "Hi!")]),
                                                    .messages([ChatMessage(role: "assistant", content: "No.")])],
                                      ratings: [0.5, -0.5]))
    func rated(_ line: String) -> String? { errorText { _ = try PreferenceRow.parse(jsonl(line), file: "r.jsonl") } }
    #expect(rated(#"{"prompt": "p", "completions": ["a", "b"], "ratings": [1]}"#) == #"r.jsonl:1: field "ratings": 1 ratings for 2 completions"#)
    #expect(rated(#"{"prompt": "p", "completions": ["a"], "ratings": [1]}"#) == #"r.jsonl:1: field "completions": expected at least 2 responses, got 1"#)
    #expect(rated(#"{"prompt": "p", "completions": ["a", "b"], "ratings": [1, "2"]}"#) == #"r.jsonl:1: field "ratings[1]": expected a number, got a string"#)
    #expect(rated(#"{"prompt": "p", "completions": ["a", [{"role": "assistant", "content": "b"}]], "ratings": [1, 2]}"#)
            == #"r.jsonl:1: field "completions[1]": expected a string like the prompt, got a list"#)
    #expect(rated(#"{"prompt": "p", "completions": ["a", "b"]}"#) == #"r.jsonl:1: missing field "ratings""#)
    #expect(rated(#"{"prompt": "p", "completions": ["a", "b"], "ratings": [1, 2], "chosen": "a"}"#)
            == #"r.jsonl:1: a row has either "completions" and "ratings" or "chosen" and "rejected", not both (found "chosen")"#)
}

@Test func promptRowsKeepAnswers() throws {
    let rows = try PromptRow.load(Fixtures.url("prompts.jsonl"))
    #expect(rows.map(\.answer) == ["42", "7", nil])
    #expect(rows[1].prompt == .messages([ChatMessage(role: "user", content: "Name a prime.")]))
    #expect(errorText { _ = try PromptRow.parse(jsonl(#"{"prompt": "p", "answer": {"x": 1}}"#), file: "q.jsonl") }
            == #"q.jsonl:1: field "answer": expected a string or a number, got an object"#)
    #expect(errorText { _ = try PromptRow.parse(jsonl(#"{"answer": "1"}"#), file: "q.jsonl") } == #"q.jsonl:1: missing field "prompt""#)
    let inline = PromptRow.inline(["a", "b"])
    #expect(inline[1].prompt == .text("b") && inline[1].source.description == "prompt_data:2")
}
