// `ConfigError`: everything wrong with a JSON config file, each message naming the file and
// the field as the user wrote it ("config.json: field \"lr\": expected a number, got a
// string"). Produced by `StrictConfigDecoder`; validation code may throw `.invalidValue`.
// Leaves out: recovery; a config error always stops the run before any work starts.
import Foundation

public enum ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is not JSON (1-based line and column).
    case syntax(file: String, line: Int, column: Int, message: String)
    /// A key the config type does not read. `suggestion` is the nearest known key, if close.
    case unknownKey(file: String, field: String, suggestion: String?, known: [String])
    /// A value of the wrong type or out of range ("expected a number, got a string").
    case invalidField(file: String, field: String, message: String)
    /// A field without a default is absent.
    case missingField(file: String, field: String, hint: String?)
    /// A value with the right type but not allowed (validation, e.g. "must be > 0").
    case invalidValue(file: String, field: String, message: String)
    /// The file could not be read.
    case io(file: String, message: String)

    public var description: String {
        switch self {
        case let .syntax(file, line, column, message):
            return "\(file):\(line):\(column): not valid JSON: \(message)"
        case let .unknownKey(file, field, suggestion, known):
            if let suggestion { return "\(file): unknown key \"\(field)\" (did you mean \"\(suggestion)\"?)" }
            if known.isEmpty { return "\(file): unknown key \"\(field)\" (this object takes no keys)" }
            return "\(file): unknown key \"\(field)\" (known keys: \(known.joined(separator: ", ")))"
        case let .invalidField(file, field, message):
            return field.isEmpty ? "\(file): \(message)" : "\(file): field \"\(field)\": \(message)"
        case let .missingField(file, field, hint):
            return "\(file): missing field \"\(field)\"" + (hint.map { " (\($0))" } ?? "")
        case let .invalidValue(file, field, message):
            return "\(file): field \"\(field)\": \(message)"
        case let .io(file, message):
            return "\(file): \(message)"
        }
    }
}

/// Levenshtein distance over Unicode scalars, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.lowercased().unicodeScalars), y = Array(b.lowercased().unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var prev = Array(0...y.count), cur = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        cur[0] = i
        for j in 1...y.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[y.count]
}

/// The candidate closest to `name`, if it is close enough to be a plausible typo.
func nearestName(to name: String, in candidates: [String]) -> String? {
    var best: (String, Int)?
    for c in candidates.sorted() {
        let d = editDistance(name, c)
        if d < (best?.1 ?? Int.max) { best = (c, d) }
    }
    guard let (c, d) = best else { return nil }
    let limit = max(2, min(name.count, c.count) / 3)
    return d <= limit ? c : nil
}
