// Learning-rate schedules as multipliers of the base LR, matching transformers'
// get_constant_schedule_with_warmup / get_linear_schedule_with_warmup /
// get_cosine_schedule_with_warmup (half a cosine period).
import Foundation

public enum LRSchedule: Codable, Sendable, Equatable {
    case constant(warmupSteps: Int)
    case linear(warmupSteps: Int, totalSteps: Int)
    case cosine(warmupSteps: Int, totalSteps: Int)

    /// Multiplier for the update with 0-based index `step`.
    public func multiplier(step: Int) -> Float {
        switch self {
        case let .constant(w):
            return step < w ? Float(step) / Float(max(1, w)) : 1
        case let .linear(w, total):
            if step < w { return Float(step) / Float(max(1, w)) }
            return max(0, Float(total - step) / Float(max(1, total - w)))
        case let .cosine(w, total):
            if step < w { return Float(step) / Float(max(1, w)) }
            let progress = Double(step - w) / Double(max(1, total - w))
            return Float(max(0, 0.5 * (1 + cos(Double.pi * 2 * 0.5 * progress))))
        }
    }
}
