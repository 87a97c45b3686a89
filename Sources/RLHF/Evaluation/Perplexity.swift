// Perplexity of a causal LM over documents: every token after the first of each document
// is scored given all tokens before it. Documents longer than the context are scored in
// windows of the context length with a stride of half of it; each token is scored once,
// with at least half a window of context (as in the transformers perplexity guide).
import Foundation
import Models
import TensorCore

public struct PerplexityResult: Sendable, Equatable {
    /// Mean negative log-likelihood per scored token (nats).
    public var nll: Double
    /// Number of scored tokens.
    public var tokens: Int
    public var perplexity: Double { Foundation.exp(nll) }
}

public enum Perplexity {
    public static func evaluate(_ model: CausalLM, documents: [[Int32]], batchSize: Int = 8) throws -> PerplexityResult {
        guard (1...CountLimits.batch).contains(batchSize) else {
            throw DocumentError(message: "batch size must be in 1...\(CountLimits.batch), got \(batchSize)")
        }
        let window = model.config.maxPositions
        // (tokens of the window, index of the first token to score in it).
        var pieces: [([Int32], Int)] = []
        for doc in documents where doc.count >= 2 {
            if doc.count <= window { pieces.append((doc, 1)); continue }
            var scoredUpTo = 1, start = 0
            while scoredUpTo < doc.count {
                let end = min(doc.count, start + window)
                pieces.append((Array(doc[start..<end]), scoredUpTo - start))
                scoredUpTo = end
                start += window / 2
                if end == doc.count { break }
            }
        }
        var total = 0.0, count = 0
        for chunk in stride(from: 0, to: pieces.count, by: batchSize) {
            let group = Array(pieces[chunk..<(chunk + min(pieces.count - chunk, batchSize))])
            let batch = try TokenBatch.leftPadded(group.map(\.0), padId: 0)
            let logits = try Tape.noGrad { try model(batch) }                    // (B, T, V)
            // Targets: token t+1 for every scored position t; others point at token 0 and
            // are dropped below.
            var targets = [Int32](repeating: 0, count: batch.batch * batch.time)
            var scored = [Bool](repeating: false, count: targets.count)
            for (r, (toks, first)) in group.enumerated() {
                let offset = batch.time - toks.count
                for j in first..<toks.count {
                    let t = offset + j - 1
                    targets[r * batch.time + t] = toks[j]
                    scored[r * batch.time + t] = true
                }
            }
            let lp = try tokenLogProbs(logits: logits, targets: targets).value.scalars
            for i in 0..<lp.count where scored[i] { total -= Double(lp[i]); count += 1 }
        }
        guard count > 0 else { throw DocumentError(message: "no document has two or more tokens: nothing to score") }
        return PerplexityResult(nll: total / Double(count), tokens: count)
    }
}
