// Tests of the collator on batches small enough to write out by hand: right and left
// padding, position ids, completion-only and all-token labels, preference pairs
// (chosen rows then rejected rows), prompt batches and padding lengths.
import Foundation
import Testing
import Tokenizers
import Data

let ign = Collator.ignoreIndex

func example(_ ids: [Int32], prompt: Int) -> TokenizedExample {
    TokenizedExample(ids: ids, promptLength: prompt, source: SourceLine(file: "t", line: 1))
}

@Test func rightPaddingByHand() throws {
    let b = try Collator(padId: 0).collate([example([11, 12, 13], prompt: 1), example([21, 22], prompt: 1)])
    #expect(b.batch == 2 && b.time == 3 && b.lengths == [3, 2])
    #expect(b.ids == [11, 12, 13, 21, 22, 0])
    #expect(b.attentionMask == [1, 1, 1, 1, 1, 0])
    #expect(b.positions == [0, 1, 2, 0, 1, 1])              // cumsum(mask) - 1: trailing pad repeats
    #expect(b.labels == [ign, 12, 13, ign, 22, ign])
    #expect(b.lossMask == [0, 1, 1, 0, 1, 0])
    #expect(Array(b.row(1, of: b.ids)) == [21, 22, 0])
}

@Test func leftPaddingByHand() throws {
    let b = try Collator(padId: 9, paddingSide: .left).collate([example([11, 12, 13], prompt: 2), example([21, 22], prompt: 1)])
    #expect(b.ids == [11, 12, 13, 9, 21, 22])
    #expect(b.attentionMask == [1, 1, 1, 0, 1, 1])
    #expect(b.positions == [0, 1, 2, 0, 0, 1])              // leading pad clamped at 0
    #expect(b.labels == [ign, ign, 13, ign, ign, 22])
}

@Test func allTokenLabelsSkipOnlyPadding() throws {
    let b = try Collator(padId: 5, lossTokens: .all).collate([example([5, 6], prompt: 1), example([7], prompt: 1)])
    #expect(b.labels == [5, 6, 7, ign])                      // a real token equal to the pad id is still trained
}

@Test func preferenceGroupsKeepEachResponseOnceAndIndexTheirComparisons() throws {
    let groups = [PreferenceGroup(chosen: example([1, 2, 3], prompt: 1), rejected: example([1, 4], prompt: 1)),
                  PreferenceGroup(sequences: [example([5, 6], prompt: 1), example([5, 7, 8, 9], prompt: 1), example([5], prompt: 1)],
                                  better: [1, 1, 0], worse: [0, 2, 2])]
    let p = try Collator(padId: 0).collate(groups: groups)
    #expect(p.batch.batch == 5 && p.batch.time == 4)
    #expect(p.batch.ids == [1, 2, 3, 0, 1, 4, 0, 0, 5, 6, 0, 0, 5, 7, 8, 9, 5, 0, 0, 0])
    #expect(p.batch.lengths == [3, 2, 2, 4, 1])
    #expect(p.better == [0, 3, 3, 2] && p.worse == [1, 2, 4, 4])
}

@Test func promptBatchesAndPaddingLengths() throws {
    let prompts = [PromptExample(ids: [1, 2, 3], source: SourceLine(file: "p", line: 1)),
                   PromptExample(ids: [4], source: SourceLine(file: "p", line: 2))]
    let b = try Collator(padId: 0, paddingSide: .left).collate(prompts: prompts)
    #expect(b.ids == [1, 2, 3, 0, 0, 4] && b.labels.allSatisfy { $0 == ign })
    let m = try Collator(padId: 0, padToMultipleOf: 4).collate([example([1, 2, 3, 4, 5], prompt: 0)])
    #expect(m.time == 8 && m.attentionMask.reduce(0, +) == 5)
    let f = try Collator(padId: 0, fixedLength: 6).collate([example([1, 2], prompt: 0)])
    #expect(f.time == 6)
    #expect(errorText { _ = try Collator(padId: 0, fixedLength: 1).collate([example([1, 2], prompt: 0)]) }
            == "a row of 2 tokens exceeds the fixed length 1")
    #expect(errorText { _ = try Collator(padId: 0).collate([TokenizedExample]()) } == "cannot collate an empty batch")
}

@Test func endToEndFromFixtureFile() throws {
    let tok = try Fixtures.tokenizer("qwen2")
    let rows = try SFTRow.load(Fixtures.url("sft.jsonl"))
    let (examples, report) = try ExampleTokenizer(tokenizer: tok, options: .init(truncation: .init(maxLength: 256))).sft(rows)
    #expect(report.examples == 4)
    let split = try DataSplit(count: examples.count, evalCount: 1, seed: 0)
    var sampler = try EpochSampler(indices: split.train, batchSize: 2, seed: 0)
    let padId = try #require(Collator.padId(for: tok))
    #expect(padId == Int32(tok.tokenToId("<|endoftext|>")!))
    let batch = try Collator(padId: padId).collate(sampler.next().batch.map { examples[$0] })
    #expect(batch.batch == 2 && batch.time <= 256 && batch.ids.count == 2 * batch.time)
    for r in 0..<2 {
        let n = batch.lengths[r]
        #expect(batch.row(r, of: batch.attentionMask).prefix(n).allSatisfy { $0 == 1 })
        #expect(batch.row(r, of: batch.positions).prefix(n).elementsEqual((0..<Int32(n))))
    }
}
