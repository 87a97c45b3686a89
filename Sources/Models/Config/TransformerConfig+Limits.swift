// Bounds on every size a TransformerConfig carries, checked where a config arrives from a
// file (config.json, GGUF metadata) and then against the checkpoint's tensors, all before any
// weight is allocated: each size positive, divisible where the architecture needs it, below a
// bound no released model reaches, and backed by values actually present in the file. Errors
// name the field; the readers map it to their own key. Leaves out fields that size nothing (eps, rope theta).

extension TransformerConfig {
    /// A size-bearing field, named in errors; config.json and GGUF readers spell its key.
    public enum SizeField: String, Sendable, CaseIterable {
        case vocabSize, hiddenSize, layers, heads, kvHeads, headDim, intermediateSize, maxPositions
        case bosTokenId, eosTokenIds, padTokenId
    }

    /// A size that fails its bound; `field` is nil when the config as a whole is at fault.
    public struct SizeError: Error, Sendable, CustomStringConvertible {
        public var field: SizeField?
        public var detail: String
        public var description: String { "\(field.map { "\($0.rawValue) " } ?? "")\(detail)" }
    }

    /// Upper bounds, each well above the largest released model and low enough that every
    /// product of sizes stays far from Int overflow.
    public enum Limits {
        /// Largest shipped vocabularies: ~262 144 (Gemma 3).
        public static let vocabSize = 1 << 22
        /// Largest widths: 16 384 (Llama 3.1 405B), 18 432 (Falcon 180B).
        public static let hiddenSize = 1 << 16
        /// Deepest: 126 (Llama 3.1 405B).
        public static let layers = 1 << 10
        /// Most heads: 128 (Llama 3.1 405B); also bounds KV heads.
        public static let heads = 1 << 10
        /// Widest heads: 256 (Gemma).
        public static let headDim = 1 << 12
        /// Widest MLPs: 53 248 (Llama 3.1 405B).
        public static let intermediateSize = 1 << 18
        /// Longest contexts: ~10M (Llama 4 Scout).
        public static let maxPositions = 1 << 24
        /// Trunk parameters: the largest open models hold ~2^40 (10^12).
        public static let parameters = 1 << 40
        /// How many more values than the checkpoint holds a config may imply before loading
        /// stops early (4 MiB of Float32): smaller gaps are left to the per-tensor check, whose
        /// error names the missing or misshapen tensor.
        public static let checkpointSlack = 1 << 20
    }

    /// Checks every size field against `Limits` and the architecture's divisibility rules,
    /// and that the token ids fall inside the vocabulary.
    public func validateSizes() throws(SizeError) {
        func bound(_ v: Int, _ f: SizeField, _ limit: Int) throws(SizeError) {
            guard v >= 1 else { throw SizeError(field: f, detail: "must be positive, got \(v)") }
            guard v <= limit else { throw SizeError(field: f, detail: "is \(v), above the limit \(limit) (no released model comes close)") }
        }
        try bound(vocabSize, .vocabSize, Limits.vocabSize)
        try bound(hiddenSize, .hiddenSize, Limits.hiddenSize)
        try bound(layers, .layers, Limits.layers)
        try bound(heads, .heads, Limits.heads)
        try bound(kvHeads, .kvHeads, Limits.heads)
        try bound(headDim, .headDim, Limits.headDim)
        try bound(intermediateSize, .intermediateSize, Limits.intermediateSize)
        try bound(maxPositions, .maxPositions, Limits.maxPositions)
        guard heads % kvHeads == 0 else { throw SizeError(field: .kvHeads, detail: "\(kvHeads) does not divide heads \(heads)") }
        switch family {
        case .gpt2:
            guard heads * headDim == hiddenSize else {
                throw SizeError(field: .heads, detail: "\(heads) x head dim \(headDim) != hidden size \(hiddenSize)")
            }
        case .llama:
            // RoPE rotates channel pairs.
            guard headDim % 2 == 0 else { throw SizeError(field: .headDim, detail: "must be even (RoPE rotates pairs), got \(headDim)") }
            guard ropeInvFreq.isEmpty || ropeInvFreq.count == headDim / 2 else {
                throw SizeError(field: .headDim, detail: "\(headDim) needs \(headDim / 2) RoPE frequencies, got \(ropeInvFreq.count)")
            }
        }
        func id(_ v: Int, _ f: SizeField) throws(SizeError) {
            guard (0..<vocabSize).contains(v) else { throw SizeError(field: f, detail: "\(v) is outside the vocabulary 0..<\(vocabSize)") }
        }
        if let b = bosTokenId { try id(b, .bosTokenId) }
        for e in eosTokenIds { try id(e, .eosTokenIds) }
        if let p = padTokenId { try id(p, .padTokenId) }
        let n = trunkParameterCount
        guard n <= Limits.parameters else {
            throw SizeError(field: nil, detail: "implies \(n) trunk parameters, above the limit \(Limits.parameters)")
        }
    }

    /// Values in the trunk's parameters (embeddings, blocks, final norm; not the heads).
    /// Exact once `validateSizes` passes (the bounds keep it from overflowing); saturates at
    /// Int.max before that.
    public var trunkParameterCount: Int {
        var total = 0
        func add(_ factors: Int...) {
            var p = 1
            for f in factors {
                let (m, o) = p.multipliedReportingOverflow(by: f)
                p = o ? Int.max : m
            }
            let (s, o) = total.addingReportingOverflow(p)
            total = o ? Int.max : s
        }
        let c = hiddenSize, i = intermediateSize
        add(vocabSize, c)
        switch family {
        case .gpt2:
            add(maxPositions, c)
            // ln_1 + c_attn + c_proj + ln_2 + c_fc + c_proj, weights and biases.
            add(layers, 2 * c + (c * 3 * c + 3 * c) + (c * c + c) + 2 * c + (c * i + i) + (i * c + c))
            add(2, c)
        case .llama:
            let qd = heads * headDim, kvd = kvHeads * headDim
            var perLayer = 2 * c + c * qd + 2 * c * kvd + qd * c + 3 * c * i
            if qkvBias { perLayer += qd + 2 * kvd }
            if outputBias { perLayer += c }
            if mlpBias { perLayer += 2 * i + c }
            add(layers, perLayer)
            add(c)
        }
        return total
    }

    /// Checks this (validated) config against a checkpoint before its model is allocated: the
    /// embedding tensor's shape, the number of layers with tensors, and enough values in the
    /// file to fill the trunk. `shape` gives the stored shape of one of our parameter paths
    /// ("trunk.tokenEmbedding.weight"), nil when absent; `elementCount` sums every tensor.
    /// What passes allocates at most `elementCount + Limits.checkpointSlack` trunk values.
    public func checkAgainstCheckpoint(elementCount: Int, shape: (String) -> [Int]?) throws(SizeError) {
        if let s = shape("trunk.tokenEmbedding.weight"), s.count == 2 {
            guard s[0] == vocabSize else {
                throw SizeError(field: .vocabSize, detail: "is \(vocabSize) but the token embedding has \(s[0]) rows")
            }
            guard s[1] == hiddenSize else {
                throw SizeError(field: .hiddenSize, detail: "is \(hiddenSize) but the token embedding is \(s[1]) wide")
            }
        }
        // Layers present: consecutive indices from 0 (at most one per tensor in the file).
        var present = 0
        func hasLayer(_ i: Int) -> Bool {
            shape("trunk.blocks.\(i).attnNorm.weight") != nil || shape("trunk.blocks.\(i).mlpNorm.weight") != nil
        }
        while present <= layers, hasLayer(present) { present += 1 }
        guard present == layers else {
            let found = "\(present)\(present > layers ? " or more" : "")"
            throw SizeError(field: .layers, detail: "is \(layers) but the checkpoint has tensors for \(found) layers")
        }
        guard trunkParameterCount - Limits.checkpointSlack <= elementCount else {
            throw SizeError(field: nil,
                            detail: "implies \(trunkParameterCount) trunk parameters but the checkpoint holds only \(elementCount) values")
        }
    }
}
