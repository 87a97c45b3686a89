// ModelWeights: finds the weights of a Hugging Face model directory, preferring
// `model.safetensors` over the sharded index as transformers does, and refuses pickle
// checkpoints (`*.bin`, `*.pt`, `*.pth`, `*.ckpt`, `*.pkl`): they are only listed by
// name, never opened, because unpickling runs arbitrary code.
// Leaves out: adapter/LoRA files and non-standard weight file names.
import Foundation

public enum ModelWeights {
    public enum Location: Equatable, Sendable {
        /// Path of `model.safetensors`.
        case single(String)
        /// Path of `model.safetensors.index.json`.
        case sharded(String)
    }

    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"
    static let pickleExtensions: Set<String> = ["bin", "pt", "pth", "ckpt", "pkl"]

    /// Where the safetensors weights are; throws `.pickleCheckpoint` when only pickles
    /// exist and `.noWeights` when nothing usable does.
    public static func locate(in directory: String) throws(SafeTensorsError) -> Location {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw .io(path: directory, detail: "not a directory")
        }
        let dir = URL(fileURLWithPath: directory)
        let single = dir.appendingPathComponent(singleFileName).path
        if fm.fileExists(atPath: single) { return .single(single) }
        let index = dir.appendingPathComponent(indexFileName).path
        if fm.fileExists(atPath: index) { return .sharded(index) }

        let contents = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted(by: byteOrder)
        let pickles = contents.filter { pickleExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
        if !pickles.isEmpty { throw .pickleCheckpoint(directory: directory, files: pickles) }
        throw .noWeights(directory: directory, contents: contents)
    }

    /// Throws `.pickleCheckpoint` if `directory` holds pickle checkpoints and no
    /// safetensors weights; returns quietly otherwise.
    public static func refusePickles(in directory: String) throws(SafeTensorsError) {
        do {
            _ = try locate(in: directory)
        } catch {
            if case .pickleCheckpoint = error { throw error }
        }
    }
}
