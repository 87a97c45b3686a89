// Experience: one scored rollout batch, the tensors PPO's update reads (docs/algorithms.md §4). B rows,
// A action slots (the longest response); action j of a row sits at sequence position
// Tp + j and is predicted from position Tp + j - 1, which is where its log-prob and its
// value V(s) are read. Masks mark response tokens up to and including EOS.
import Foundation
import Models
import TensorCore

public struct Experience {
    public var sequences: TokenBatch     // (B, T) prompt (left-padded) + response (right-padded)
    public var promptWidth: Int          // Tp
    public var actions: [Int32]          // (B, A) response tokens, pad where masked
    public var actionMask: Tensor        // (B, A) 1 on response tokens up to EOS
    public var oldLogprobs: Tensor       // (B, A) log pi_old(a|s)
    public var refLogprobs: Tensor       // (B, A) log pi_ref(a|s)
    public var values: Tensor            // (B, A) V_old(s)
    public var rewards: Tensor           // (B, A) r_t
    public var advantages: Tensor        // (B, A) A_t, whitened
    public var returns: Tensor           // (B, A) R_t = A_t + V_t (before whitening)
    public var scores: [Float]           // (B,) sequence scores after shaping
    public var rawScores: [Float]        // (B,) as the reward source returned them
    public var klPerSequence: [Float]    // (B,) sum of kl_t over valid tokens
    public var hitEOS: [Bool]
    public var responseLengths: [Int]

    public var batch: Int { sequences.batch }
    public var actionCount: Int { actionMask.shape[1] }

    /// The rows `idx`, in that order (a PPO minibatch).
    public func rows(_ idx: [Int]) throws -> Experience {
        let t = sequences.time, a = actionCount
        func pick<T>(_ x: [T], _ w: Int) -> [T] { idx.flatMap { x[($0 * w)..<(($0 + 1) * w)] } }
        func pick(_ x: Tensor) throws -> Tensor {
            let w = x.count / batch
            return try Tensor(shape: [idx.count] + Array(x.shape.dropFirst()), data: pick(x.scalars, w))
        }
        let seq = try TokenBatch(ids: pick(sequences.ids, t), batch: idx.count, time: t,
                                 attentionMask: pick(sequences.attentionMask, t), positions: pick(sequences.positions, t))
        return Experience(sequences: seq, promptWidth: promptWidth, actions: pick(actions, a), actionMask: try pick(actionMask),
                          oldLogprobs: try pick(oldLogprobs), refLogprobs: try pick(refLogprobs), values: try pick(values),
                          rewards: try pick(rewards), advantages: try pick(advantages), returns: try pick(returns),
                          scores: idx.map { scores[$0] }, rawScores: idx.map { rawScores[$0] },
                          klPerSequence: idx.map { klPerSequence[$0] }, hitEOS: idx.map { hitEOS[$0] },
                          responseLengths: idx.map { responseLengths[$0] })
    }
}

/// The per-action quantities of a model over a prompt + response batch.
public enum ActionScoring {
    /// log softmax(logits / T)[action] at the positions that predict each action: (B, A),
    /// and the (B, A, V) scaled logits (for the entropy). Recorded when a tape records.
    public static func logprobs(_ model: CausalLM, _ seq: TokenBatch, promptWidth tp: Int, actions: [Int32],
                                temperature: Float) throws -> (logprobs: Variable, logits: Variable) {
        let a = seq.time - tp
        let hidden = try model.trunk(seq)                                        // (B, T, C)
        let h = try hidden.sliced(axis: 1, (tp - 1)..<(tp - 1 + a))             // (B, A, C)
        var logits = try model.logits(hidden: h)                                 // (B, A, V)
        if temperature != 1 { logits = logits.scaled(by: 1 / temperature) }
        let lp = try tokenLogProbs(logits: logits, targets: actions)             // (B, A)
        return (lp, logits)
    }

    /// V(s) at the positions that precede each action: (B, A).
    public static func values(_ critic: ScalarHeadModel, _ seq: TokenBatch, promptWidth tp: Int) throws -> Variable {
        let a = seq.time - tp
        return try critic.values(seq).sliced(axis: 1, (tp - 1)..<(tp - 1 + a))  // (B, A)
    }
}
