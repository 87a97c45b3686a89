// DemoData: the bundled VADER movie-review snippets (Hutto & Gilbert 2014, human ratings
// -4..+4; Data/vader-movie-snippets) split into training and held-out snippets, with the
// rated groups and prompts the demo stages use.
import Foundation
import TensorCore

public struct Snippet: Sendable, Equatable {
    public var id: Int
    public var rating: Double
    public var text: String

    public init(id: Int, rating: Double, text: String) {
        self.id = id; self.rating = rating; self.text = text
    }
}

public struct DemoData: Sendable {
    /// What SFT, both reward models and PPO's prompts are drawn from.
    public var train: [Snippet]
    /// What every tuning decision and every during-training evaluation looks at.
    public var validation: [Snippet]
    /// Looked at once, by the final report; never by training or tuning.
    public var test: [Snippet]

    /// The bundled file: next to the sources when run from a checkout, else ./Data/...
    public static func defaultPath() -> String {
        let fromSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Data/vader-movie-snippets/snippets.jsonl").path
        if FileManager.default.fileExists(atPath: fromSource) { return fromSource }
        return "Data/vader-movie-snippets/snippets.jsonl"
    }

    public static func load(_ path: String = defaultPath()) throws -> [Snippet] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DocumentError(message: "\(path): cannot read the bundled snippets (run from the repository root)")
        }
        return try text.split(separator: "\n").enumerated().map { i, line in
            guard let o = try JSONSerialization.jsonObject(with: Foundation.Data(line.utf8)) as? [String: Any],
                  let id = o["id"] as? Int, let r = (o["rating"] as? NSNumber)?.doubleValue, let t = o["text"] as? String else {
                throw DocumentError(message: "\(path):\(i + 1): expected {\"id\", \"rating\", \"text\"}")
            }
            return Snippet(id: id, rating: r, text: t)
        }
    }

    /// One seeded permutation of the snippets, cut into validation (the first
    /// `validationFraction`), test (the next `testFraction`) and training (the rest). Each
    /// split keeps the permutation's order, so any prefix of it is a random sample: the file
    /// is sorted by sentiment, and prefixes of a sorted split were nearly all one sentiment.
    /// A snippet whose exact text occurs earlier in the permutation is dropped (the file has
    /// two such repeats), so no text is in two splits. Same seed and stream as the earlier
    /// two-way split: validation is that split's held-out set, up to the dropped repeats
    /// (the settings in DemoConfig were chosen on it).
    public init(snippets: [Snippet], validationFraction: Double, testFraction: Double, seed: UInt64) {
        var rng = Philox(seed: seed, stream: 1)
        var order = Array(snippets.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.nextUInt32() % UInt32(i + 1))) }
        var seen = Set<String>()
        let unique = order.filter { seen.insert(snippets[$0].text).inserted }.map { snippets[$0] }
        let nValidation = Int(Double(snippets.count) * validationFraction), nTest = Int(Double(snippets.count) * testFraction)
        validation = Array(unique.prefix(nValidation))
        test = Array(unique.dropFirst(nValidation).prefix(nTest))
        train = Array(unique.dropFirst(nValidation + nTest))
    }

    /// The training split cut in two disjoint halves: the reward model PPO optimises learns
    /// from the first, the independent judge from the second.
    public var rewardModelHalves: (rm: [Snippet], judge: [Snippet]) {
        (Array(train.prefix(train.count / 2)), Array(train.dropFirst(train.count / 2)))
    }

    /// Rated groups for the RM: each pass a fresh seeded shuffle of the snippets, cut into
    /// groups of `size` (a last group of one is dropped); a fractional last pass stops early.
    /// Every pair in a group whose ratings differ by the trainer's min_rating_gap is a
    /// comparison, so each snippet is scored once per epoch however many comparisons it is in.
    public static func ratedGroups(_ s: [Snippet], size: Int, passes: Double, seed: UInt64) -> [[Snippet]] {
        var rng = Philox(seed: seed, stream: 2)
        var groups: [[Snippet]] = [], perPass = 0
        for _ in 0..<Int(passes.rounded(.up)) {
            var order = Array(s.indices)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.nextUInt32() % UInt32(i + 1))) }
            let pass = stride(from: 0, to: order.count, by: size).filter { order.count - $0 >= 2 }
                .map { start in order[start..<min(order.count, start + size)].map { s[$0] } }
            perPass = pass.count
            groups += pass
        }
        return Array(groups.prefix(Int((passes * Double(perPass)).rounded())))
    }

    /// The first `words` words of a snippet: a PPO prompt.
    public static func prompt(_ s: Snippet, words: Int) -> String {
        s.text.split(separator: " ").prefix(words).joined(separator: " ")
    }

    /// The distinct prompts of `snippets` in their order, leaving out every string in
    /// `excluding` (16% of 3-word prefixes repeat across snippets, so without this a test
    /// prompt could also be a training prompt).
    public static func prompts(_ s: [Snippet], words: Int, excluding: Set<String> = []) -> [String] {
        var seen = excluding
        return s.map { prompt($0, words: words) }.filter { seen.insert($0).inserted }
    }
}
