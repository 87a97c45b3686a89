// `ResponseSampler`: the responses shown for each item, sampled from the loaded models on one
// serial queue (the models are not shared between threads) and streamed to any number of
// watchers as text grows. Item i samples with seed `sampling.seed + i`, so a restart shows the
// same responses. Leaves out batching several items into one forward pass.
import Data
import Foundation
import Generation
import Models
import RLHF
import Tokenizers

/// A model ready to sample: its bundle, the name rows record, and whether it uses its chat template.
struct LoadedModel: @unchecked Sendable {
    var name: String
    var bundle: ModelBundle
    var chat: Bool
}

/// The responses of one item as they grow; `done` once every slot has finished.
struct GenerationSnapshot: Sendable {
    var texts: [String]
    var done: Bool
    var error: String?
}

/// One item's sampling: current text per slot, and the streams watching it.
final class ItemGeneration: @unchecked Sendable {
    private let lock = NSLock()
    private var state: GenerationSnapshot
    private var watchers: [UUID: AsyncStream<GenerationSnapshot>.Continuation] = [:]

    init(slots: Int) { state = GenerationSnapshot(texts: Array(repeating: "", count: slots), done: false, error: nil) }
    init(finished texts: [String]) { state = GenerationSnapshot(texts: texts, done: true, error: nil) }

    var snapshot: GenerationSnapshot { lock.withLock { state } }

    /// The current state at once, then every change, ending after the final one.
    func updates() -> AsyncStream<GenerationSnapshot> {
        let (stream, continuation) = AsyncStream<GenerationSnapshot>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        lock.withLock {
            continuation.yield(state)
            if state.done { continuation.finish() } else { watchers[id] = continuation }
        }
        continuation.onTermination = { [weak self] _ in self?.lock.withLock { _ = self?.watchers.removeValue(forKey: id) } }
        return stream
    }

    func set(slot: Int, text: String) { publish { $0.texts[slot] = text } }
    func finish(error: String?) { publish { $0.done = true; $0.error = error } }

    private func publish(_ change: (inout GenerationSnapshot) -> Void) {
        let (snap, targets) = lock.withLock { () -> (GenerationSnapshot, [AsyncStream<GenerationSnapshot>.Continuation]) in
            change(&state)
            let t = Array(watchers.values)
            if state.done { watchers.removeAll() }
            return (state, t)
        }
        for c in targets {
            c.yield(snap)
            if snap.done { c.finish() }
        }
    }
}

final class ResponseSampler: @unchecked Sendable {
    let models: [LoadedModel]
    let sampling: SamplingConfig
    let mode: LabelMode
    let ratedCount: Int
    private let queue = DispatchQueue(label: "rlhf.label.sampler", qos: .userInitiated)
    private let lock = NSLock()
    private var running: [Int: ItemGeneration] = [:]

    init(models: [LoadedModel], sampling: SamplingConfig, mode: LabelMode, ratedCount: Int) {
        self.models = models; self.sampling = sampling; self.mode = mode; self.ratedCount = ratedCount
    }

    var slotCount: Int { mode == .pair ? 2 : ratedCount }
    var chat: Bool { models[0].chat }

    func seed(_ item: Int) -> UInt64 { sampling.seed &+ UInt64(item) }

    /// Which model fills each slot. With two models the sides are shuffled per item by a hash
    /// of the seed, so neither model sits always on the left.
    func slotModels(_ item: Int) -> [Int] {
        if models.count == 1 { return Array(repeating: 0, count: slotCount) }
        var z = seed(item) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) & 1 == 0 ? [0, 1] : [1, 0]
    }

    /// The generation for `item`, started if it is not running or cached.
    func generation(_ item: Int, prompt: RowContent) -> ItemGeneration {
        lock.withLock {
            if let g = running[item] { return g }
            let g = ItemGeneration(slots: slotCount)
            running[item] = g
            queue.async { [self] in run(item, prompt: prompt, into: g) }
            return g
        }
    }

    /// Puts back a finished generation (an item reopened by "back").
    func restore(_ item: Int, texts: [String]) {
        lock.withLock { running[item] = ItemGeneration(finished: texts) }
    }

    func forget(_ item: Int) { lock.withLock { _ = running.removeValue(forKey: item) } }

    private func run(_ item: Int, prompt: RowContent, into g: ItemGeneration) {
        let owners = slotModels(item)
        do {
            for m in Set(owners).sorted() {
                let slots = owners.indices.filter { owners[$0] == m }
                try sample(model: models[m], prompt: prompt, slots: slots, seed: seed(item), into: g)
            }
            g.finish(error: nil)
        } catch {
            g.finish(error: "\(error)")
        }
    }

    /// Token ids of `prompt` for `model`: its chat template with one user turn, or the raw text.
    static func encode(_ prompt: RowContent, for model: LoadedModel) throws -> [Int32] {
        let tok = model.bundle.tokenizer
        switch (prompt, model.chat) {
        case let (.text(s), true):
            return try tok.encodeChat([ChatMessage(role: "user", content: s)], addGenerationPrompt: true).map(Int32.init)
        case let (.messages(m), true): return try tok.encodeChat(m, addGenerationPrompt: true).map(Int32.init)
        case let (.text(s), false): return tok.encode(s).map(Int32.init)
        case (.messages, false):
            throw LabelError.model("\(model.name): a prompt given as messages needs the chat template "
                                   + "(not --prompt-format raw, and a model that has one)")
        }
    }

    private func sample(model: LoadedModel, prompt: RowContent, slots: [Int], seed: UInt64, into g: ItemGeneration) throws {
        let ids = try Self.encode(prompt, for: model)
        var config = sampling
        config.eosTokenIds = model.bundle.eosTokenIds
        config.padTokenId = model.bundle.padTokenId
        config.seed = seed
        let tok = model.bundle.tokenizer
        let eos = Set(model.bundle.eosTokenIds)
        var streamed = [[Int]](repeating: [], count: slots.count)
        let prompts = Array(repeating: ids, count: slots.count)
        let result = try Generator.generate(model.bundle.model, prompts: prompts, config: config) { _, toks in
            for (r, t) in toks.enumerated() {
                guard let t, !eos.contains(t) else { continue }
                streamed[r].append(Int(t))
                // A byte-level token may end mid-character: show only complete text.
                let text = tok.decode(streamed[r], skipSpecialTokens: true)
                if !text.hasSuffix("\u{FFFD}") { g.set(slot: slots[r], text: text) }
            }
        }
        for (r, tokens) in result.tokens.enumerated() {
            let kept = tokens.prefix { !eos.contains($0) }.map(Int.init)
            g.set(slot: slots[r], text: tok.decode(kept, skipSpecialTokens: true))
        }
    }
}
