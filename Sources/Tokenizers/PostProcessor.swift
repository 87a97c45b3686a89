// Post-processors: add the special tokens around an encoded sequence (TemplateProcessing,
// BertProcessing, RobertaProcessing, ByteLevel (a no-op on ids), Sequence). They run only
// when special tokens are requested. Leaves out type ids and offsets.

indirect enum PostProcessor {
    enum Item { case seqA, seqB, special([Int32]) }
    case template(single: [Item], pair: [Item])
    case wrap(cls: Int32, sep: Int32, doubleSepBetween: Bool)
    case byteLevel
    case sequence([PostProcessor])

    static func parse(_ j: JSONValue) throws -> PostProcessor {
        guard let type = j["type"]?.string else { throw TokenizerError.invalidConfig("post_processor without type") }
        switch type {
        case "TemplateProcessing":
            var specials: [String: [Int32]] = [:]
            if let sp = j["special_tokens"]?.objectPairs {
                for (k, v) in sp {
                    guard let ids = v["ids"]?.array?.compactMap(\.int) else { throw TokenizerError.invalidConfig("TemplateProcessing special token \(k) without ids") }
                    specials[k] = try ids.map { try Tokenizer.checkedId($0, "post_processor special token '\(k)'") }
                }
            }
            func items(_ key: String) throws -> [Item] {
                guard let list = j[key]?.array else { throw TokenizerError.invalidConfig("TemplateProcessing without \(key)") }
                return try list.map { it in
                    if let s = it["Sequence"] { return s["id"]?.string == "B" ? .seqB : .seqA }
                    if let s = it["SpecialToken"], let id = s["id"]?.string {
                        guard let ids = specials[id] else { throw TokenizerError.invalidConfig("TemplateProcessing uses undefined special token \(id)") }
                        return .special(ids)
                    }
                    throw TokenizerError.invalidConfig("TemplateProcessing item \(it.serialized)")
                }
            }
            return .template(single: try items("single"), pair: try items("pair"))
        case "BertProcessing", "RobertaProcessing":
            func id(_ key: String) -> Int? { j[key]?.array.flatMap { $0.count == 2 ? $0[1].int : nil } }
            guard let cls = id("cls"), let sep = id("sep") else {
                throw TokenizerError.invalidConfig("\(type) without cls/sep")
            }
            return .wrap(cls: try Tokenizer.checkedId(cls, "\(type) cls"), sep: try Tokenizer.checkedId(sep, "\(type) sep"),
                         doubleSepBetween: type == "RobertaProcessing")
        case "ByteLevel": return .byteLevel
        case "Sequence":
            guard let list = j["processors"]?.array else { throw TokenizerError.invalidConfig("Sequence without processors") }
            return .sequence(try list.map(parse))
        default:
            throw TokenizerError.unsupported(component: "post-processor", type: type)
        }
    }

    /// Number of ids this processor adds (used by truncation, as HF does).
    func addedTokens(pair: Bool) -> Int {
        switch self {
        case .template(let single, let p):
            return (pair ? p : single).reduce(0) { if case .special(let ids) = $1 { return $0 + ids.count }; return $0 }
        case .wrap(_, _, let double): return pair ? (double ? 4 : 3) : 2
        case .byteLevel: return 0
        case .sequence(let list): return list.reduce(0) { $0 + $1.addedTokens(pair: pair) }
        }
    }

    func process(_ a: [Int32], _ b: [Int32]?) -> [Int32] {
        switch self {
        case .template(let single, let pairItems):
            var out: [Int32] = []
            out.reserveCapacity(a.count + (b?.count ?? 0) + 8)
            for it in (b == nil ? single : pairItems) {
                switch it {
                case .seqA: out += a
                case .seqB: out += b ?? []
                case .special(let ids): out += ids
                }
            }
            return out
        case .wrap(let cls, let sep, let double):
            var out = [cls] + a + [sep]
            if let b { out += (double ? [sep] : []) + b + [sep] }
            return out
        case .byteLevel:
            return a + (b ?? [])
        case .sequence(let list):
            // HF chains processors on the pair; after the first, the pair is already joined.
            // ByteLevel only trims offsets, so it is skipped rather than joining the pair early.
            var x = a, y = b
            for p in list {
                if case .byteLevel = p { continue }
                x = p.process(x, y); y = nil
            }
            return x + (y ?? [])
        }
    }
}
