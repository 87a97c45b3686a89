// FiniteCheck: the guard that keeps NaN and infinity out of checkpoints and final models. A
// trainer stops with `NonFiniteTrainingError` (naming the step and the last good checkpoint) on a
// non-finite loss or gradient norm, or when weights or optimizer moments turn non-finite before a
// save. Leaves out recovery (skipping the step, lowering the learning rate): the user decides.
import Foundation
import NN
import TensorCore

public struct NonFiniteTrainingError: Error, CustomStringConvertible, Sendable {
    /// "step" (SFT, reward) or "iteration" (PPO).
    public var unit: String
    public var step: Int
    /// What was not finite, e.g. "train/loss = nan" or "weights model.norm.weight".
    public var what: String
    /// The newest complete checkpoint of the run, kept as it was.
    public var lastGood: String?

    public var description: String {
        "\(unit) \(step): non-finite \(what); training stopped. Last good checkpoint: "
            + (lastGood ?? "none (no checkpoint was written before this \(unit))")
    }
}

enum FiniteCheck {
    /// The name of the first tensor holding a NaN or an infinity; nil when all are finite.
    static func firstNonFinite(_ tensors: [(String, Tensor)]) -> String? {
        tensors.first { _, t in !t.withUnsafeBufferPointer { $0.allSatisfy(\.isFinite) } }?.0
    }

    /// A model's weights (`prefix` + name) and its optimizer's moments, as `firstNonFinite` reads them.
    static func state(_ named: [(String, Variable)], optimizer: AdamW, prefix: String = "") -> [(String, Tensor)] {
        var out = named.map { ("weights \(prefix)\($0.0)", $0.1.value) }
        for (i, (name, _)) in named.enumerated() {
            if let m = optimizer.m[i] { out.append(("optimizer exp_avg.\(prefix)\(name)", m)) }
            if let v = optimizer.v[i] { out.append(("optimizer exp_avg_sq.\(prefix)\(name)", v)) }
        }
        return out
    }

    /// Gradients of `named` that exist, for runs without clipping (no norm is computed then).
    static func gradients(_ named: [(String, Variable)]) -> [(String, Tensor)] {
        named.compactMap { n, p in p.grad.map { ("gradient of \(n)", $0) } }
    }
}
