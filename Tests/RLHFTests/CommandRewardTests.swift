// CommandReward against misbehaving scorers: a missing program, one that exits without
// reading its stdin (both run in CommandRewardProbe, since they used to kill the host by
// SIGPIPE), and one that ignores SIGTERM and leaves a grandchild behind on timeout.
// Leaves out well-behaved scorers' parsing (exercised by the PPO command-reward runs).
import Foundation
import Models
import RLHF
import Testing

@Suite struct CommandRewardTests {
    /// Runs the probe (built next to this test binary); (exited normally, its stdout).
    func probe(timeout: Double, responseBytes: Int, _ command: [String]) throws -> (normalExit: Bool, output: String) {
        let dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let p = Process()
        p.executableURL = dir.appendingPathComponent("CommandRewardProbe")
        p.arguments = [String(timeout), String(responseBytes)] + command
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let how = p.terminationReason == .exit ? "exit \(p.terminationStatus)" : "signal \(p.terminationStatus)"
        return (p.terminationReason == .exit, String(decoding: data, as: UTF8.self) + " [probe: \(how)]")
    }

    // The second response is larger than a pipe's 64 KiB buffer, so writing the input must
    // meet the closed pipe whatever the timing.
    @Test func missingProgramIsNamed() throws {
        let (normal, output) = try probe(timeout: 10, responseBytes: 300_000, ["rlhf-no-such-scorer-7f3a", "--flag"])
        #expect(normal, "the host died: \(output)")
        #expect(output.hasPrefix("error:") && output.contains("cannot run program \"rlhf-no-such-scorer-7f3a\""), "\(output)")
        #expect(output.contains("No such file or directory"), "\(output)")
    }

    @Test func scorerThatSkipsStdinIsAnError() throws {
        let (normal, output) = try probe(timeout: 10, responseBytes: 300_000, ["true"])
        #expect(normal, "the host died: \(output)")
        #expect(output.hasPrefix("error:") && output.contains("[\"true\"] exited without reading its input"), "\(output)")
    }

    /// The scorer (sh, the group leader) ignores TERM, as does its grandchild `sleep`
    /// (an ignored signal stays ignored across exec): only the group SIGKILL ends them.
    @Test func timeoutKillsTheWholeGroup() throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-scorer-\(UUID().uuidString).pids").path
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let script = "trap '' TERM; sleep 60 & echo $$ $! > \(pidFile); wait"
        let reward = CommandReward(command: ["sh", "-c", script], timeout: 1, killGrace: 0.3)
        let batch = RewardBatch(prompts: ["p"], responses: ["r"], answers: [nil],
                                sequences: try TokenBatch(ids: [0], batch: 1, time: 1), responseLengths: [1], endsWithEOS: [true])
        let start = Date()
        do {
            _ = try reward.scores(batch)
            Issue.record("a scorer that never exits returned scores")
        } catch {
            #expect("\(error)".contains("did not finish within 1.0 s"), "\(error)")
        }
        #expect(Date().timeIntervalSince(start) < 1 + 0.3 + 3, "the timed-out call took too long")
        // Leader and grandchild must be gone (or zombies waiting for init: dead either way),
        // and nothing else left in the group.
        let pids = try String(contentsOfFile: pidFile, encoding: .utf8)
            .split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
        #expect(pids.count == 2, "pid file: \(pids)")
        // SIGKILL is delivered asynchronously: under load a killed process may still be
        // listed for a moment, so wait a little before calling it a survivor.
        let patience = Date().addingTimeInterval(5)
        while pids.contains(where: isRunning) && Date() < patience { usleep(20_000) }
        for pid in pids {
            #expect(!isRunning(pid), "process \(pid) of the timed-out scorer is still running")
        }
        if let leader = pids.first {
            let members = groupMembers(leader)
            #expect(members.isEmpty, "process group \(leader) still has live members \(members)")
        }
    }

    /// /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so split after ')'.
    private func stat(_ pid: String) -> (state: String, pgrp: Int32)? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = s.lastIndex(of: ")") else { return nil }
        let fields = s[s.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let pgrp = Int32(fields[2]) else { return nil }
        return (String(fields[0]), pgrp)
    }

    private func isRunning(_ pid: Int32) -> Bool {
        guard let s = stat(String(pid)) else { return false }
        return s.state != "Z" && s.state != "X"
    }

    private func groupMembers(_ pgid: Int32) -> [Int32] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return all.compactMap { name in
            guard let pid = Int32(name), let s = stat(name), s.pgrp == pgid, s.state != "Z", s.state != "X" else { return nil }
            return pid
        }
    }
}
