// `LabelSession`: the state behind the labelling page — prompts, who holds which item, the
// sampler and the files — as one actor, so several labellers never get the same item at the
// same time. Its methods are the HTTP API minus HTTP: a labeller name and a decision in, JSON
// out. Leaves out accounts: a labeller is a name the page sends, trusted like the token holder.
import Data
import Foundation
import Generation
import RLHF
import Tokenizers

public actor LabelSession {
    public let config: LabelConfig
    let prompts: [PromptRow]
    let sampler: ResponseSampler
    let log: PreferenceLog
    /// What opening --out found worth telling (torn line dropped, held rows appended).
    public nonisolated let notes: [String]
    private var leases: [String: (item: Int, expires: Date)] = [:]
    private let now: @Sendable () -> Date
    private let timeFormat: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()

    /// Loads the models and prompts and opens --out, checking that rows already there were
    /// made from the same prompts.
    public init(config: LabelConfig, now: @escaping @Sendable () -> Date = Date.init) throws {
        try config.validate()
        self.config = config
        self.now = now
        do { prompts = try PromptRow.load(URL(fileURLWithPath: config.promptsPath)) } catch {
            throw LabelError.file("--prompts: \(error)")
        }
        var models: [LoadedModel] = []
        for path in config.models {
            let bundle: ModelBundle
            do { bundle = try ModelBundle(directory: path) } catch { throw LabelError.model("\(path): \(error)") }
            let hasTemplate = bundle.tokenizer.chatTemplate != nil
            let chat: Bool
            switch config.promptFormat {
            case .auto: chat = hasTemplate
            case .raw: chat = false
            case .chat:
                guard hasTemplate else { throw LabelError.model("\(path): --prompt-format chat, but its tokenizer has no chat template") }
                chat = true
            }
            models.append(LoadedModel(name: path, bundle: bundle, chat: chat))
        }
        if models.count == 2, models[0].chat != models[1].chat {
            throw LabelError.model("\(models[0].name) \(models[0].chat ? "has" : "has no") chat template but \(models[1].name) "
                                   + "\(models[1].chat ? "has" : "has no") one; rows need one shape (use --prompt-format raw)")
        }
        if !models[0].chat, let bad = prompts.first(where: { $0.prompt.isChat }) {
            throw LabelError.file("\(bad.source): a prompt given as messages needs a model with a chat template")
        }
        sampler = ResponseSampler(models: models, sampling: config.sampling, mode: config.mode, ratedCount: config.ratedCount)
        log = try PreferenceLog(out: config.outPath)
        notes = log.notes
        for (item, prompt) in log.recorded {
            guard item < prompts.count else {
                throw LabelError.file("\(log.outURL.lastPathComponent): item \(item) is beyond the \(prompts.count) prompts; "
                                      + "use a new --out for other prompts")
            }
            if prompt != Self.promptJSON(prompts[item].prompt, chat: sampler.chat) {
                throw LabelError.file("\(log.outURL.lastPathComponent): item \(item) was labelled with another prompt than "
                                      + "\(prompts[item].source); use a new --out for other prompts")
            }
        }
    }

    public var total: Int { prompts.count }
    public var labelled: Int { (0..<prompts.count).count(where: isDone) }
    public var outURL: URL { log.outURL }
    public var unpairedURL: URL { log.unpairedURL }

    func isDone(_ item: Int) -> Bool { log.recorded[item] != nil || log.isHeld(item) }

    private func progress() -> JSONValue {
        .object([("labelled", .int(labelled)), ("total", .int(total))])
    }

    private func leasedByOther(_ item: Int, than labeller: String, at t: Date) -> Bool {
        leases.contains { $0.key != labeller && $0.value.item == item && $0.value.expires > t }
    }

    private func freeItem(for labeller: String, excluding: Int? = nil) -> Int? {
        let t = now()
        return (0..<prompts.count).first { $0 != excluding && !isDone($0) && !leasedByOther($0, than: labeller, at: t) }
    }

    /// The labeller's current item (kept across page reloads), or the first free one; starts
    /// its sampling and the next free item's, so the following item is ready sooner.
    public func next(_ labeller: String) -> JSONValue {
        let t = now()
        var item: Int
        if let l = leases[labeller], !isDone(l.item), !leasedByOther(l.item, than: labeller, at: t) {
            item = l.item
        } else if let free = freeItem(for: labeller) {
            item = free
        } else {
            leases[labeller] = nil
            return .object([("done", .bool(true)), ("progress", progress()), ("can_back", .bool(log.held[labeller] != nil))])
        }
        leases[labeller] = (item, t.addingTimeInterval(config.leaseSeconds))
        _ = sampler.generation(item, prompt: prompts[item].prompt)
        if let ahead = freeItem(for: labeller, excluding: item) { _ = sampler.generation(ahead, prompt: prompts[ahead].prompt) }
        return view(item, labeller: labeller, previous: nil)
    }

    private func view(_ item: Int, labeller: String, previous: Decision?) -> JSONValue {
        var prev: JSONValue = .null
        if let d = previous {
            var f: [(String, JSONValue)] = [("choice", .string(d.verdict.name))]
            if case .rated(let r) = d.verdict { f.append(("ratings", .array(r.map { .int($0) }))) }
            f.append(("thumbs", .array(d.thumbs.map { $0.map { .string($0.rawValue) } ?? .null })))
            f.append(("note", .string(d.note)))
            prev = .object(f)
        }
        return .object([
            ("done", .bool(false)), ("item", .int(item)), ("prompt", Self.promptJSON(prompts[item].prompt, chat: sampler.chat)),
            ("mode", .string(config.mode.rawValue)), ("slots", .int(sampler.slotCount)), ("progress", progress()),
            ("can_back", .bool(log.held[labeller] != nil)), ("previous", prev),
        ])
    }

    /// The sampling of the labeller's current item, to stream; 409 if the item is not theirs.
    func generation(_ labeller: String, item: Int) throws(RequestError) -> ItemGeneration {
        try checkLease(labeller, item)
        return sampler.generation(item, prompt: prompts[item].prompt)
    }

    private func checkLease(_ labeller: String, _ item: Int) throws(RequestError) {
        guard item < prompts.count else { throw RequestError(404, "no item \(item) (there are \(prompts.count))") }
        guard let l = leases[labeller], l.item == item, !isDone(item) else {
            throw RequestError(409, "item \(item) is not reserved for \(labeller); ask for the next item")
        }
        guard !leasedByOther(item, than: labeller, at: now()) else { throw RequestError(409, "item \(item) went to another labeller") }
        leases[labeller] = (item, now().addingTimeInterval(config.leaseSeconds))
    }

    /// Records a decision for the labeller's current item. It is held (so "back" can change it)
    /// and written when the labeller decides the next item, or at shutdown.
    public func submit(_ labeller: String, body: JSONValue) throws(RequestError) -> JSONValue {
        let d = try Decision.parse(body, mode: config.mode, slots: sampler.slotCount)
        try checkLease(labeller, d.item)
        let snap = sampler.generation(d.item, prompt: prompts[d.item].prompt).snapshot
        if d.verdict != .skip {
            guard snap.done else { throw RequestError(409, "item \(d.item) is still being generated") }
            guard snap.error == nil else { throw RequestError(409, "item \(d.item) failed to generate; skip it") }
        }
        let held = row(d, texts: snap.texts, labeller: labeller)
        do { try log.hold(held, for: labeller) } catch {
            throw RequestError(500, "could not save: \(error)")
        }
        leases[labeller] = nil
        sampler.forget(d.item)
        return .object([("saved", .int(d.item)), ("progress", progress())])
    }

    /// Reopens the labeller's last decision (only that one: earlier ones are written).
    public func back(_ labeller: String) throws(RequestError) -> JSONValue {
        let h: HeldRow?
        do { h = try log.unhold(labeller) } catch { throw RequestError(500, "could not save: \(error)") }
        guard let h, let d = h.decision else { throw RequestError(409, "nothing to go back to: only the last decision can be changed") }
        sampler.restore(h.item, texts: h.texts)
        leases[labeller] = (h.item, now().addingTimeInterval(config.leaseSeconds))
        return view(h.item, labeller: labeller, previous: d)
    }

    /// Writes every held decision; call before the process ends.
    public func shutdown() throws { try log.flushHeld() }

    static func promptJSON(_ p: RowContent, chat: Bool) -> JSONValue {
        switch (p, chat) {
        case let (.text(s), false): return .string(s)
        case let (.text(s), true): return .array([message("user", s)])
        case let (.messages(m), _): return .array(m.map { message($0.role, $0.content) })
        }
    }

    /// 0.7 as 0.7 rather than 0.699999988 (the Float the flag became).
    static func decimal(_ x: Float) -> Double { Double(String(describing: x)) ?? Double(x) }

    static func message(_ role: String, _ content: String) -> JSONValue {
        .object([("role", .string(role)), ("content", .string(content))])
    }

    private func response(_ text: String) -> JSONValue {
        sampler.chat ? .array([Self.message("assistant", text)]) : .string(text)
    }

    /// The row for `d`: TRL's shape first, then our metadata.
    private func row(_ d: Decision, texts: [String], labeller: String) -> HeldRow {
        let owners = sampler.slotModels(d.item).map { sampler.models[$0].name }
        var f: [(String, JSONValue)] = [("prompt", Self.promptJSON(prompts[d.item].prompt, chat: sampler.chat))]
        let target: RowTarget
        switch d.verdict {
        case .a, .b:
            let (c, r) = d.verdict == .a ? (0, 1) : (1, 0)
            f += [("chosen", response(texts[c])), ("rejected", response(texts[r]))]
            target = .out
        case .rated(let ratings):
            f += [("completions", .array(texts.map(response))), ("ratings", .array(ratings.map { .int($0) }))]
            target = .out
        case .tie, .skip:
            f.append((config.mode == .pair ? "responses" : "completions", .array(texts.map(response))))
            target = .unpaired
        }
        f += [("item", .int(d.item)), ("prompt_line", .int(prompts[d.item].source.line)), ("labeller", .string(labeller)),
              ("time", .string(timeFormat.string(from: now()))), ("choice", .string(d.verdict.name))]
        if config.mode == .pair {
            f.append(("models", .object([("A", .string(owners[0])), ("B", .string(owners[1]))])))
            if d.verdict == .a || d.verdict == .b {
                let (c, r) = d.verdict == .a ? (0, 1) : (1, 0)
                f += [("chosen_model", .string(owners[c])), ("rejected_model", .string(owners[r]))]
            }
            f.append(("thumbs", .object([("A", d.thumbs[0].map { .string($0.rawValue) } ?? .null),
                                         ("B", d.thumbs[1].map { .string($0.rawValue) } ?? .null)])))
        } else {
            f.append(("models", .array(owners.map { .string($0) })))
        }
        let s = config.sampling
        f += [("seed", .int(Int(truncatingIfNeeded: sampler.seed(d.item)))),
              ("sampling", .object([("max_new_tokens", .int(s.maxNewTokens)), ("temperature", .double(Self.decimal(s.temperature))),
                                    ("top_k", .int(s.topK)), ("top_p", .double(Self.decimal(s.topP)))])),
              ("note", .string(d.note))]
        return HeldRow(item: d.item, target: target, row: .object(f), texts: texts, decision: d)
    }
}
