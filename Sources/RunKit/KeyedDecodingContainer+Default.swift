// The "every field has a default" pattern for configs: `c.decode(.lr, default: d.lr)` reads
// a key if present (null counts as absent) and falls back to the default otherwise. Leaves
// out validation, which belongs in the config's own `validate()`.
import Foundation

extension KeyedDecodingContainer {
    /// `decodeIfPresent(T.self, forKey:) ?? value`. Typical use in a config's `init(from:)`:
    ///
    ///     let c = try decoder.container(keyedBy: CodingKeys.self)
    ///     let d = Self()            // the documented defaults
    ///     lr = try c.decode(.lr, default: d.lr)
    public func decode<T: Decodable>(_ key: Key, default value: @autoclosure () -> T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? value()
    }
}
