// RunIdentity: what makes two runs the same run, recorded as `run.json` in the output folder:
// a random run id (kept across resumes; checkpoints carry it) and named fields (settings, model
// and data fingerprints) compared on `--resume`, each difference named. Leaves out which fields
// a trainer records (the trainers build them) and cryptographic hashes (a CRC-32C is enough to
// notice an edited file).
import Foundation

public struct RunIdentity: Codable, Equatable, Sendable {
    /// Random per fresh run; a resume keeps the recorded one.
    public var runID: String
    /// Field name (as the config spells it where one exists) -> value.
    public var fields: [String: String]

    public static let fileName = "run.json"

    public init(runID: String = UUID().uuidString.lowercased(), fields: [String: String]) {
        self.runID = runID
        self.fields = fields
    }

    enum CodingKeys: String, CodingKey { case runID = "run_id", fields }

    /// "field: recorded A, now B" for every field that differs (absent on one side counts).
    public func differences(from now: RunIdentity) -> [String] {
        Set(fields.keys).union(now.fields.keys).sorted().compactMap { k in
            let a = fields[k], b = now.fields[k]
            return a == b ? nil : "\(k): recorded \(a ?? "(none)"), now \(b ?? "(none)")"
        }
    }

    /// A file's identity: its absolute path, size and CRC-32C, or "missing".
    public static func fingerprint(file path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard let data = try? Foundation.Data(contentsOf: url, options: .mappedIfSafe) else { return "\(url.path) (missing)" }
        return "\(url.path) (\(data.count) bytes, crc32c \(String(format: "%08x", CRC32C.checksum(data))))"
    }

    /// A short identity of a long text (e.g. every parameter name and shape).
    public static func fingerprint(text: String) -> String {
        let bytes = Array(text.utf8)
        return "\(bytes.count) bytes, crc32c \(String(format: "%08x", CRC32C.checksum(bytes)))"
    }

    /// The stored properties of a settings value as `snake_case` fields: nested structs are
    /// flattened (their own names dropped), anything else is described by `String(describing:)`.
    public static func settings(of value: Any, excluding: Set<String> = []) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ v: Any) {
            for child in Mirror(reflecting: v).children {
                guard let label = child.label else { continue }
                if Mirror(reflecting: child.value).displayStyle == .struct { walk(child.value); continue }
                let key = snakeCase(label)
                if !excluding.contains(key) { out[key] = String(describing: child.value) }
            }
        }
        walk(value)
        return out
    }

    static func snakeCase(_ name: String) -> String {
        var s = ""
        for c in name {
            if c.isUppercase { s += "_" + c.lowercased() } else { s.append(c) }
        }
        return s
    }

    public func save(in directory: URL) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileSync.writeAtomically(try e.encode(self), to: directory.appendingPathComponent(Self.fileName))
    }

    /// The identity recorded in `directory`, nil when there is none.
    public static func load(from directory: URL) throws -> RunIdentity? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(RunIdentity.self, from: Foundation.Data(contentsOf: url))
        } catch {
            throw RunDirectoryError(path: url.path, message: "not a valid run record (\(describe(error))); expected "
                                    + "{\"run_id\": ..., \"fields\": {...}} as this tool writes it")
        }
    }
}
