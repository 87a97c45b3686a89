// Runs another program for a benchmark and returns its standard output: the PyTorch loop
// (`ppo --compare-pytorch`) and this binary at other thread counts (`scaling`). PyTorchTiming
// parses Reference/article_ppo_loop.py's JSON line. Leaves out: timeouts, input on stdin.
import ArgumentParser
import Foundation

enum ChildProcess {
    /// Runs `executable arguments` with `environment` added to ours; its stderr passes through
    /// (progress, warnings). Throws naming the program and its exit status when it fails.
    static func output(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        do {
            try process.run()
        } catch {
            throw ValidationError("cannot start \(executable): \(error.localizedDescription)")
        }
        // Read before waiting: a child that fills the pipe would otherwise block forever.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw ValidationError("\(executable) \(arguments.joined(separator: " ")) failed "
                                  + "(\(process.terminationReason == .exit ? "exit" : "signal") \(process.terminationStatus))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// This executable's path (for re-running it with another RLHF_THREADS).
    static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// One median iteration of Reference/article_ppo_loop.py, seconds per phase.
struct PyTorchTiming: Decodable {
    let rollout, scoring, update, forward, backward, clip, adamw, total: Double
    let torch: String

    static func run(python: String, arguments: [String]) throws -> PyTorchTiming {
        let out = try ChildProcess.output(python, arguments)
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw ValidationError("--compare-pytorch: \(arguments[0]) printed no JSON line; its output was:\n\(out.suffix(2000))")
        }
        do {
            return try JSONDecoder().decode(PyTorchTiming.self, from: Data(line.utf8))
        } catch {
            throw ValidationError("--compare-pytorch: cannot read \(arguments[0])'s JSON line (\(error)): \(line)")
        }
    }
}
