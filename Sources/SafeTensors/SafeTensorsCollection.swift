// SafeTensorsCollection: the tensors of a checkpoint seen as one name -> tensor map,
// whether it is a single `model.safetensors` or shards listed by
// `model.safetensors.index.json` (`weight_map`: name -> shard file). Every shard is mapped
// and every mapping checked when opened, so a broken checkpoint fails before any load.
// Leaves out: finding the files in a model directory (ModelWeights.swift).
import Foundation
import TensorCore

public final class SafeTensorsCollection: @unchecked Sendable {
    /// The single file, or the index for a sharded checkpoint.
    public let path: String
    /// The open files, in shard-name order (one for an unsharded checkpoint).
    public let files: [SafeTensorsFile]
    /// The index's `metadata` object with string and integer values as strings (e.g.
    /// `total_size`); for a single file, its `__metadata__`.
    public let metadata: [String: String]
    private let fileOf: [String: Int]

    /// One `.safetensors` file.
    public init(file path: String) throws(SafeTensorsError) {
        let f = try SafeTensorsFile(path: path)
        self.path = path
        files = [f]
        metadata = f.metadata
        fileOf = Dictionary(uniqueKeysWithValues: f.entries.map { ($0.name, 0) })
    }

    /// A sharded checkpoint from its index. Shard names are resolved in the index's
    /// directory and may not leave it.
    public init(index path: String) throws(SafeTensorsError) {
        self.path = path
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .io(path: path, detail: "\(error.localizedDescription)")
        }
        let root: JSONValue
        do { root = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw .invalidIndex(path: path, detail: "not valid JSON")
        }
        guard case .object(let top) = root else { throw .invalidIndex(path: path, detail: "expected a JSON object, found \(root.kind)") }
        guard case .object(let map)? = top["weight_map"] else {
            throw .invalidIndex(path: path, detail: "missing 'weight_map' object (tensor name -> shard file)")
        }
        var meta: [String: String] = [:]
        if case .object(let m)? = top["metadata"] {
            for (k, v) in m {
                switch v {
                case .string(let s): meta[k] = s
                case .int(let i): meta[k] = String(i)
                default: break
                }
            }
        }
        metadata = meta

        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        var shardNames: [String: String] = [:]  // tensor -> shard
        for (name, value) in map {
            guard case .string(let shard) = value else {
                throw .invalidIndex(path: path, detail: "weight_map['\(name)'] must be a file name string, found \(value.kind)")
            }
            // A checkpoint from the internet must not make us open /etc/passwd.
            guard !shard.isEmpty, !shard.hasPrefix("/"), !shard.split(separator: "/").contains("..") else {
                throw .invalidIndex(path: path, detail: "weight_map['\(name)'] = '\(shard)' is not a file inside the checkpoint directory")
            }
            shardNames[name] = shard
        }

        var opened: [String: Int] = [:]
        var files: [SafeTensorsFile] = []
        for shard in Set(shardNames.values).sorted(by: byteOrder) {
            let shardPath = dir.appendingPathComponent(shard).path
            guard FileManager.default.fileExists(atPath: shardPath) else {
                let tensor = shardNames.filter { $0.value == shard }.keys.sorted(by: byteOrder).first!
                throw .missingShard(index: path, tensor: tensor, shard: shard)
            }
            opened[shard] = files.count
            files.append(try SafeTensorsFile(path: shardPath))
        }
        var fileOf: [String: Int] = [:]
        for name in shardNames.keys.sorted(by: byteOrder) {
            let shard = shardNames[name]!
            let i = opened[shard]!
            guard files[i].contains(name) else { throw .tensorMissingFromShard(index: path, tensor: name, shard: shard) }
            fileOf[name] = i
        }
        self.files = files
        self.fileOf = fileOf
    }

    /// Opens the weights of a Hugging Face model directory (see `ModelWeights.locate`).
    public convenience init(modelDirectory: String) throws(SafeTensorsError) {
        switch try ModelWeights.locate(in: modelDirectory) {
        case .single(let p): try self.init(file: p)
        case .sharded(let p): try self.init(index: p)
        }
    }

    /// All tensor names, in UTF-8 byte order.
    public var names: [String] { fileOf.keys.sorted(by: byteOrder) }

    public func contains(_ name: String) -> Bool { fileOf[name] != nil }

    /// The file that holds `name`.
    public func file(containing name: String) throws(SafeTensorsError) -> SafeTensorsFile {
        guard let i = fileOf[name] else { throw .tensorNotFound(path: path, tensor: name) }
        return files[i]
    }

    public func entry(named name: String) throws(SafeTensorsError) -> SafeTensorsEntry {
        try file(containing: name).entry(named: name)
    }

    /// The tensor as Float32 (see `SafeTensorsFile.tensor(named:)`).
    public func tensor(named name: String) throws(SafeTensorsError) -> Tensor {
        try file(containing: name).tensor(named: name)
    }

    public func integers(named name: String) throws(SafeTensorsError) -> [Int64] {
        try file(containing: name).integers(named: name)
    }
}
