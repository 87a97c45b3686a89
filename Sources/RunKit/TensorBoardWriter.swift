// `TensorBoardWriter`: scalar summaries in a TensorBoard event file
// `<dir>/events.out.tfevents.<unix time, 10 digits>.<host>` (".1", ".2" appended if that name
// is taken), readable by `tensorboard --logdir <dir>` and tensorboard's EventFileLoader.
// First record: file_version "brain.Event:2"; then one Event per logged step with all its
// scalars as float simple_values. Leaves out histograms, images, text and hparams.
import Foundation

public final class TensorBoardWriter: MetricsSink {
    public let url: URL
    let handle: FileHandle
    var pending: [UInt8] = []

    /// Creates `directory` if needed and a new event file in it, written at once with its
    /// version record. `time` and `host` name the file (defaults: now, this machine).
    public init(directory: URL, time: Date = Date(), host: String = ProcessInfo.processInfo.hostName) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let stamp = String(format: "%010d", Int(time.timeIntervalSince1970))
        let safeHost = host.isEmpty ? "localhost" : host.replacingOccurrences(of: "/", with: "_")
        let base = "events.out.tfevents.\(stamp).\(safeHost)"
        var name = base, n = 0
        while fm.fileExists(atPath: directory.appendingPathComponent(name).path) { n += 1; name = "\(base).\(n)" }
        url = directory.appendingPathComponent(name)
        guard fm.createFile(atPath: url.path, contents: nil), let h = FileHandle(forWritingAtPath: url.path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = h
        pending = TFRecord.frame(TensorBoardEvent(wallTime: time.timeIntervalSince1970, step: 0, fileVersion: "brain.Event:2").encoded())
        try flush()
    }

    deinit { try? flush(); try? handle.close() }

    /// One event holding every scalar of `record` (values rounded to Float, as TensorBoard keeps them).
    public func log(_ record: MetricsRecord) throws {
        let event = TensorBoardEvent(wallTime: record.wallTime, step: Int64(record.step),
                                     scalars: record.scalars.map { ($0.name, Float($0.value)) })
        pending += TFRecord.frame(event.encoded())
        if pending.count > 1 << 16 { try flush() }
    }

    public func flush() throws {
        guard !pending.isEmpty else { return }
        try handle.write(contentsOf: pending)
        pending.removeAll(keepingCapacity: true)
    }

    /// Every event in an event file, CRCs checked (for tests and tools).
    public static func readEvents(_ url: URL) throws -> [TensorBoardEvent] {
        try TFRecord.records(Array(try Foundation.Data(contentsOf: url))).map(TensorBoardEvent.init(decoding:))
    }
}
