// CountLimits: the upper bounds every count in a training config is range-checked against,
// so arithmetic on counts (epochs x steps, episodes / batch, step + n) can never wrap and a
// huge value fails at load naming its field instead of running 0 steps. Leaves out the
// lower bounds (each config's `validate` states those with its field).
import RunKit

public enum CountLimits {
    /// Steps, episodes, iterations, logging/eval/save intervals: 2^40 (35 years at 1 per ms).
    public static let steps = 1 << 40
    /// Passes over a dataset or a rollout batch.
    public static let epochs = 1 << 20
    /// Rows in one batch, accumulation micro-batches, checkpoints kept: each sizes memory or work per step.
    public static let batch = 1 << 20
    /// Tokens in one sequence (prompt or response): 2^24, as `TransformerConfig.Limits.maxPositions`.
    public static let tokens = 1 << 24

    /// Throws unless `value` lies in `range`, naming `field` of `file`.
    public static func check(_ value: Int, _ range: ClosedRange<Int>, field: String, file: String) throws {
        guard range.contains(value) else {
            throw ConfigError.invalidValue(file: file, field: field,
                                           message: "must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
    }
}
