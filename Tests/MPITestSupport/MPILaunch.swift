// What the tests that launch processes under mpirun share (DistributedTests, RLHFTests): finding
// mpirun and the executables built beside the test binary, running a command with a deadline that
// kills its whole process tree, and finding a rank's pid. Leaves out any MPI call of its own.
import Foundation

public enum MPILaunch {
    /// `mpirun` on PATH, or nil (the tests then skip, saying so).
    public static let mpirun: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    /// An executable built next to the running test binary (`rlhf`, `MPIProbe`).
    public static func sibling(_ name: String) -> String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent(name).path
    }

    /// `mpirun` arguments for `ranks` processes on this machine (more ranks than cores allowed;
    /// root allowed, as in CI containers), exporting each named environment variable to the ranks.
    public static func arguments(ranks: Int, exporting: [String] = []) -> [String] {
        var args = ["-np", "\(ranks)", "--oversubscribe"]
        if geteuid() == 0 { args.append("--allow-run-as-root") }
        return args + exporting.flatMap { ["-x", $0] }
    }

    /// True, after printing why, when mpirun is absent.
    public static func skip(_ suite: String) -> Bool {
        if mpirun == nil { print("\(suite): skipped, no mpirun on PATH (apt-get install openmpi-bin libopenmpi-dev)") }
        return mpirun == nil
    }
}

/// A finished command: its status, stdout and stderr together, and whether the deadline ended it.
public struct CommandRun: Sendable {
    public var status: Int32
    public var output: String
    public var timedOut: Bool
    public var seconds: Double
}

/// Runs `executable` with a deadline (a hang must fail the test, not stall it). `environment` adds
/// to this process's. `whileRunning` is called on another thread with the pid once it started.
public func runCommand(_ executable: String, _ arguments: [String], timeout: Double = 120, environment: [String: String] = [:],
                       whileRunning: (@Sendable (Int32) -> Void)? = nil) throws -> CommandRun {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    let start = Date()
    try p.run()
    let pid = p.processIdentifier
    let timedOut = Flag()
    // mpirun does not end ranks stuck in a collective on SIGTERM (seen here): kill the whole tree.
    let deadline = DispatchWorkItem { timedOut.set(); killTree(pid) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline)
    if let whileRunning { DispatchQueue.global().async { whileRunning(pid) } }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    deadline.cancel()
    let note = timedOut.value ? "\n[test: killed after \(timeout) s]" : ""
    return CommandRun(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self) + note,
                      timedOut: timedOut.value, seconds: Date().timeIntervalSince(start))
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    func set() { lock.lock(); raised = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return raised }
}

/// Every process below `root` (parents read from /proc/PID/stat), `root` included.
public func processTree(_ root: Int32) -> Set<Int32> {
    var parent: [Int32: Int32] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let ppid = Int32(fields[1]) { parent[pid] = ppid }
    }
    var tree: Set<Int32> = [root]
    var grew = true
    while grew {
        grew = false
        for (pid, ppid) in parent where tree.contains(ppid) && !tree.contains(pid) { tree.insert(pid); grew = true }
    }
    return tree
}

/// SIGKILL to `root` and every descendant.
public func killTree(_ root: Int32) {
    for pid in processTree(root) { kill(pid, SIGKILL) }
}

/// The pid of MPI rank `rank` below `root` (mpirun), read from the ranks' OMPI_COMM_WORLD_RANK.
public func rankPid(_ rank: Int, under root: Int32) -> Int32? {
    processTree(root).first { pid in
        guard pid != root, let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        return env.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }
    }
}
