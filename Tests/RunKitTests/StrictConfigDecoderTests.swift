// Tests of StrictConfigDecoder: defaults, unknown keys (with suggestions, nested, reported
// before type errors), type errors phrased per field, syntax errors with line:column.
import Foundation
import Testing
import RunKit

/// A config in the shape trainers use: every field defaulted via `decode(_:default:)`.
struct OptimConfig: Decodable, Equatable {
    var beta1: Double = 0.9
    var beta2: Double = 0.999
    init() {}
    enum CodingKeys: String, CodingKey { case beta1, beta2 }
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self), d = Self()
        beta1 = try c.decode(.beta1, default: d.beta1)
        beta2 = try c.decode(.beta2, default: d.beta2)
    }
}

enum Schedule: String, Decodable { case constant, cosine }

struct SampleConfig: Decodable, Equatable {
    var lr: Double = 1e-4
    var epochs: Int = 1
    var name: String = "run"
    var schedule: Schedule = .cosine
    var layers: [Int] = []
    var optimizer = OptimConfig()
    var tags: [String: String] = [:]
    var seed: UInt64 = 0
    var warmup: Int? = nil
    init() {}
    enum CodingKeys: String, CodingKey { case lr, epochs, name, schedule, layers, optimizer, tags, seed, warmup }
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self), d = Self()
        lr = try c.decode(.lr, default: d.lr)
        epochs = try c.decode(.epochs, default: d.epochs)
        name = try c.decode(.name, default: d.name)
        schedule = try c.decode(.schedule, default: d.schedule)
        layers = try c.decode(.layers, default: d.layers)
        optimizer = try c.decode(.optimizer, default: d.optimizer)
        tags = try c.decode(.tags, default: d.tags)
        seed = try c.decode(.seed, default: d.seed)
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup)
    }
}

struct RequiredConfig: Decodable {
    var model: String
    var steps: Int = 10
    enum CodingKeys: String, CodingKey { case model, steps }
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        steps = try c.decode(.steps, default: 10)
    }
}

func decodeSample(_ json: String) throws -> SampleConfig {
    try StrictConfigDecoder.decode(SampleConfig.self, from: Data(json.utf8), file: "config.json")
}

func message(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch { return "\(error)" }
}

@Test func emptyObjectAndNullsGiveDefaults() throws {
    #expect(try decodeSample("{}") == SampleConfig())
    #expect(try decodeSample(#"{"lr": null, "optimizer": {}}"#) == SampleConfig())
}

@Test func fullConfigDecodes() throws {
    let c = try decodeSample("""
    {"lr": 3e-4, "epochs": 3, "name": "sft", "schedule": "constant", "layers": [1, 2],
     "optimizer": {"beta1": 0.8}, "tags": {"anything": "goes"}, "seed": 18446744073709551615, "warmup": 5}
    """)
    #expect(c.lr == 3e-4 && c.epochs == 3 && c.name == "sft" && c.schedule == .constant && c.layers == [1, 2])
    #expect(c.optimizer.beta1 == 0.8 && c.optimizer.beta2 == 0.999)
    #expect(c.tags == ["anything": "goes"] && c.seed == UInt64.max && c.warmup == 5)
    #expect(try decodeSample(#"{"epochs": 2.0, "lr": 1}"#).epochs == 2)
}

@Test func unknownKeyNamesKeyAndSuggests() {
    #expect(message { _ = try decodeSample(#"{"lrr": 0.001}"#) } == #"config.json: unknown key "lrr" (did you mean "lr"?)"#)
    #expect(message { _ = try decodeSample(#"{"optimizer": {"bta1": 0.9}}"#) }
            == #"config.json: unknown key "optimizer.bta1" (did you mean "beta1"?)"#)
    let far = message { _ = try decodeSample(#"{"zzzzzz": 1}"#) } ?? ""
    #expect(far.hasPrefix(#"config.json: unknown key "zzzzzz" (known keys: epochs, layers, lr, name"#), "\(far)")
}

@Test func unknownKeyIsReportedBeforeTypeErrors() {
    #expect(message { _ = try decodeSample(#"{"lr": "fast", "epochz": 2}"#) }
            == #"config.json: unknown key "epochz" (did you mean "epochs"?)"#)
}

@Test func wrongTypesArePhrasedPerField() {
    #expect(message { _ = try decodeSample(#"{"lr": "fast"}"#) } == #"config.json: field "lr": expected a number, got a string"#)
    #expect(message { _ = try decodeSample(#"{"epochs": 1.5}"#) } == #"config.json: field "epochs": expected an integer, got 1.5"#)
    #expect(message { _ = try decodeSample(#"{"name": true}"#) } == #"config.json: field "name": expected a string, got a boolean"#)
    #expect(message { _ = try decodeSample(#"{"layers": [1, "two"]}"#) }
            == #"config.json: field "layers[1]": expected an integer, got a string"#)
    #expect(message { _ = try decodeSample(#"{"optimizer": 3}"#) } == #"config.json: field "optimizer": expected an object, got 3"#)
    #expect(message { _ = try decodeSample(#"{"optimizer": {"beta2": [1]}}"#) }
            == #"config.json: field "optimizer.beta2": expected a number, got an array"#)
    #expect(message { _ = try decodeSample(#"{"epochs": -1e30}"#) }?.contains(#"field "epochs": expected an integer"#) == true)
    #expect(message { _ = try decodeSample("[1]") } == "config.json: expected an object, got an array")
}

@Test func invalidEnumValueNamesField() {
    let m = message { _ = try decodeSample(#"{"schedule": "cosin"}"#) } ?? ""
    #expect(m.hasPrefix(#"config.json: field "schedule": "#), "\(m)")
}

@Test func missingRequiredFieldHintsAtTypo() {
    let m = message { _ = try StrictConfigDecoder.decode(RequiredConfig.self, from: Data(#"{"modle": "gpt2"}"#.utf8), file: "c.json") }
    #expect(m == #"c.json: missing field "model" (the file has "modle"; a typo?)"#)
}

@Test func syntaxErrorsGiveLineAndColumn() {
    let text = "{\n  \"lr\": 1e-3,\n}"
    #expect(throws: ConfigError.syntax(file: "config.json", line: 3, column: 1, message: "expected a quoted key")) {
        try decodeSample(text)
    }
    #expect(message { _ = try decodeSample(#"{"lr": 1, "lr": 2}"#) }?.contains("duplicate key \"lr\"") == true)
    #expect(message { _ = try decodeSample("") }?.contains("unexpected end of file") == true)
}

@Test func decodesFromFileAndNamesIt() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runkit-cfg-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("sft.json")
    try Data(#"{"epochs": "3"}"#.utf8).write(to: url)
    #expect(message { _ = try StrictConfigDecoder.decode(SampleConfig.self, contentsOf: url) }
            == #"sft.json: field "epochs": expected an integer, got a string"#)
    let missing = message { _ = try StrictConfigDecoder.decode(SampleConfig.self, contentsOf: dir.appendingPathComponent("nope.json")) }
    #expect(missing?.hasPrefix("nope.json: cannot read config file") == true)
}
