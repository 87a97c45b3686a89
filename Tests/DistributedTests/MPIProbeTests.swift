// The data-parallel proof: MPIProbe (a tiny MLP trained with sharding, global whitening and
// GradientAllreduce) gives the same losses and parameters at N = 2 and 3 under mpirun as in
// one process without MPI, within 1e-5 relative; a killed rank and a rank that throws end the
// job with Open MPI's message instead of hanging it. Skips, saying why, when mpirun is absent.
// Leaves out the two-namespace run across "hosts" (scripts/mpi-two-hosts.sh).
import Foundation
import MPITestSupport
import Testing

@Suite(.serialized) struct MPIProbeTests {
    static let probe = MPILaunch.sibling("MPIProbe")

    struct Run {
        var status: Int32
        var output: String
        var losses: [Double] { lines("step").map { Double($0.split(separator: " ")[3])! } }
        var checksum: [Double] { lines("checksum").first.map { $0.split(separator: " ").dropFirst().map { Double($0)! } } ?? [] }
        func lines(_ prefix: String) -> [String] { output.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix + " ") } }
    }

    /// Runs a command with a deadline (MPITestSupport); stdout and stderr together.
    func run(_ executable: String, _ arguments: [String], timeout: Double = 60) throws -> Run {
        let r = try runCommand(executable, arguments, timeout: timeout)
        return Run(status: r.status, output: r.output)
    }

    func mpi(_ ranks: Int, _ probeArguments: [String], timeout: Double = 60) throws -> Run {
        try run(MPILaunch.mpirun!, MPILaunch.arguments(ranks: ranks) + [Self.probe] + probeArguments, timeout: timeout)
    }

    /// max over entries of |a - b| / max(|a|, |b|); the parameter sum (first checksum entry)
    /// is compared against Σ |p| instead, since it can cancel.
    func expectClose(_ a: Run, _ b: Run, _ what: String) {
        #expect(a.status == 0 && b.status == 0, "\(what): \(a.output)\n---\n\(b.output)")
        #expect(a.output.contains("collectives: ok\n") && b.output.contains("collectives: ok\n"), "\(what): broadcast/allgather/barrier")
        #expect(a.losses.count == b.losses.count && !a.losses.isEmpty, "\(what): \(a.output)\n---\n\(b.output)")
        for (i, (x, y)) in zip(a.losses, b.losses).enumerated() {
            #expect(abs(x - y) <= 1e-5 * max(abs(x), abs(y)), "\(what): step \(i) loss \(x) vs \(y)")
        }
        let (c, d) = (a.checksum, b.checksum)
        #expect(c.count == 3 && d.count == 3, "\(what): checksums \(c) \(d)")
        guard c.count == 3, d.count == 3 else { return }
        #expect(abs(c[0] - d[0]) <= 1e-5 * c[1], "\(what): Σ p \(c[0]) vs \(d[0]) (Σ |p| \(c[1]))")
        for k in 1..<3 { #expect(abs(c[k] - d[k]) <= 1e-5 * max(abs(c[k]), abs(d[k])), "\(what): checksum[\(k)] \(c[k]) vs \(d[k])") }
    }

    func skipWithoutMPI() -> Bool { MPILaunch.skip("MPIProbeTests") }

    @Test func twoAndThreeRanksEqualOneProcess() throws {
        if skipWithoutMPI() { return }
        let single = try run(Self.probe, ["--single"])
        #expect(single.output.hasPrefix("ranks: 1\n"), "\(single.output)")
        let one = try mpi(1, [])
        expectClose(single, one, "mpirun -np 1")
        let two = try mpi(2, [])
        #expect(two.output.hasPrefix("ranks: 2\n"), "\(two.output)")
        expectClose(single, two, "mpirun -np 2")
        // Buckets of 5 elements split every tensor; 13 rows over 3 ranks are uneven (5 + 4 + 4).
        let unevenSingle = try run(Self.probe, ["--single", "--batch", "13"])
        let three = try mpi(3, ["--batch", "13", "--uneven", "--bucket", "5"])
        expectClose(unevenSingle, three, "mpirun -np 3, uneven, bucket 5")
    }

    @Test func unevenBatchIsRefusedByName() throws {
        if skipWithoutMPI() { return }
        let r = try mpi(2, ["--batch", "13"])
        #expect(r.status != 0 && r.output.contains("global batch 13") && r.output.contains("over 2 ranks"), "\(r.output)")
    }

    @Test func killedRankStopsTheJob() throws {
        if skipWithoutMPI() { return }
        let start = Date()
        let r = try mpi(2, ["--die-at-step", "2", "--steps", "50"])
        #expect(Date().timeIntervalSince(start) < 30, "took \(Date().timeIntervalSince(start)) s")
        #expect(r.status != 0 && r.output.contains("exited on signal 9"), "\(r.output)")
        #expect(r.checksum.isEmpty && r.losses.count <= 2, "\(r.output)")
    }

    @Test func rankThatThrowsAbortsTheJob() throws {
        if skipWithoutMPI() { return }
        let r = try mpi(2, ["--throw-at-step", "1", "--steps", "50"], timeout: 30)
        #expect(r.status != 0, "\(r.output)")
        // What must hold: the job ends (not killed by our deadline), non-zero, with the rank's own
        // error. mpirun usually adds "MPI_ABORT was invoked on rank 1", but on a loaded machine its
        // help-message forwarding sometimes fails ("ORTE_ERROR_LOG: Data unpack would read past end
        // of buffer ... show_help.c", 2 of 12 runs here), so that line is not required.
        #expect(r.output.contains("error: rank 1 fails on purpose at step 1") && !r.output.contains("[test: killed"), "\(r.output)")
        #expect(r.checksum.isEmpty, "\(r.output)")
    }
}
