// `TrainerState`: what a trainer needs besides weights and optimizer moments to resume
// exactly: step, epoch, data position, RNG states and the metrics so far, saved as
// `trainer_state.json` inside a checkpoint. Data position and RNG states are opaque
// `OpaqueCodable` values, so RunKit needs no Data/TensorCore types. Leaves out weights.
import Foundation

public struct TrainerState: Codable, Equatable, Sendable {
    /// Optimizer steps completed.
    public var step: Int
    /// Epoch in progress (0-based).
    public var epoch: Int
    /// Where the data iterator stands (e.g. Data's `DataPosition`), if the trainer reads data.
    public var dataPosition: OpaqueCodable?
    /// Named RNG states (e.g. "dropout", "sampling": a `Philox`).
    public var rng: [String: OpaqueCodable]
    /// Every metrics record logged so far.
    public var metricsHistory: [MetricsRecord]
    /// Anything else a trainer wants back (e.g. best eval loss, KL controller state).
    public var extra: [String: OpaqueCodable]

    public static let fileName = "trainer_state.json"

    public init(step: Int = 0, epoch: Int = 0, dataPosition: OpaqueCodable? = nil, rng: [String: OpaqueCodable] = [:],
                metricsHistory: [MetricsRecord] = [], extra: [String: OpaqueCodable] = [:]) {
        self.step = step; self.epoch = epoch; self.dataPosition = dataPosition
        self.rng = rng; self.metricsHistory = metricsHistory; self.extra = extra
    }

    enum CodingKeys: String, CodingKey {
        case step, epoch, dataPosition = "data_position", rng, metricsHistory = "metrics_history", extra
    }

    /// Writes `trainer_state.json` into `directory` (atomically: temp file + rename).
    public func save(in directory: URL) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        try FileSync.writeAtomically(try e.encode(self), to: directory.appendingPathComponent(Self.fileName))
    }

    /// Reads `trainer_state.json` from a checkpoint directory.
    public static func load(from directory: URL) throws -> TrainerState {
        let url = directory.appendingPathComponent(fileName)
        let data: Foundation.Data
        do { data = try Foundation.Data(contentsOf: url) } catch {
            throw ConfigError.io(file: url.path, message: "cannot read the trainer state (\(error.localizedDescription)); "
                                 + "expected the file a checkpoint write leaves")
        }
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            return try d.decode(TrainerState.self, from: data)
        } catch {
            throw ConfigError.io(file: url.path, message: "not a valid trainer state (\(describe(error))); expected a JSON object with "
                                 + "step, epoch, rng, metrics_history and extra as a checkpoint write leaves it")
        }
    }
}
