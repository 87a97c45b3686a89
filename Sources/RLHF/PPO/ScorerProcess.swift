// ScorerProcess: runs a reward command in a process group of its own, writes its stdin and
// collects stdout/stderr in one poll loop under a deadline. On timeout the whole group gets
// SIGTERM, then SIGKILL after a grace period, and the scorer is reaped; nothing it started
// outlives the call. Leaves out interactive scorers (the whole input is offered up front).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

struct ScorerProcess {
    /// How the scorer ended and what it printed.
    struct Outcome {
        /// Exit code, or nil when a signal ended it (then `signal` is set).
        var exitCode: Int32?
        var signal: Int32?
        var stdout: [UInt8]
        var stderr: [UInt8]
        /// Input bytes that went into the pipe before the scorer closed its stdin (all when it read everything).
        var inputTaken: Int
    }

    enum Failure: Error {
        /// posix_spawnp failed (e.g. ENOENT: no such program on PATH).
        case cannotStart(errno: Int32)
        /// The deadline passed; the group was sent SIGTERM, then SIGKILL.
        case timedOut
    }

    /// Runs `argv` (looked up on PATH) with `input` on stdin. `killGrace`: seconds between
    /// SIGTERM and SIGKILL on timeout.
    static func run(_ argv: [String], input: [UInt8], timeout: Double, killGrace: Double) throws(Failure) -> Outcome {
        // Writing to a pipe whose reader is gone raises SIGPIPE on the writing thread, which
        // would kill the host process. Block it here and collect any pending one before
        // unblocking, so a scorer that exits early is an EPIPE we report, in any host.
        var pipeSignal = sigset_t(), previousMask = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previousMask)
        defer {
            var now = timespec(tv_sec: 0, tv_nsec: 0)
            while sigtimedwait(&pipeSignal, nil, &now) == SIGPIPE {}
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        }

        // 1. Pipes, close-on-exec so that only the scorer inherits them (pipe2 is not
        //    imported; another thread spawning between the two calls is the only gap).
        var fds: [Int32] = Array(repeating: -1, count: 6)   // stdin r/w, stdout r/w, stderr r/w
        defer { for fd in fds where fd >= 0 { close(fd) } }
        for i in stride(from: 0, to: 6, by: 2) {
            let rc = fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress! + i) }
            guard rc == 0 else { throw .cannotStart(errno: errno) }
            for fd in fds[i...(i + 1)] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }

        // 2. Spawn in a new process group, with SIGPIPE back to default and no blocked signals.
        let pid = try spawn(argv, stdin: fds[0], stdout: fds[3], stderr: fds[5])
        for i in [0, 3, 5] { close(fds[i]); fds[i] = -1 }
        let deadline = Date().addingTimeInterval(timeout)

        // 3. One loop feeds stdin and drains both outputs until the scorer has exited and
        //    closed its outputs, or the deadline passes.
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        var written = 0, out: [UInt8] = [], err: [UInt8] = []
        if input.isEmpty { close(fds[1]); fds[1] = -1 }
        var exited = false
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !(exited && fds[2] < 0 && fds[4] < 0) {
            if !exited { exited = hasExited(pid) }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else {
                terminateGroup(pid, grace: killGrace)
                throw .timedOut
            }
            var polled: [pollfd] = []
            if fds[1] >= 0 { polled.append(pollfd(fd: fds[1], events: Int16(POLLOUT), revents: 0)) }
            for i in [2, 4] where fds[i] >= 0 { polled.append(pollfd(fd: fds[i], events: Int16(POLLIN), revents: 0)) }
            // Wake up now and then to notice the scorer's exit while a grandchild holds a pipe.
            let waitMs = Int32(min(left * 1000, 20).rounded(.up))
            if !polled.isEmpty { _ = poll(&polled, nfds_t(polled.count), waitMs) } else { usleep(UInt32(waitMs) * 1000) }
            for p in polled where p.revents != 0 {
                if p.fd == fds[1] {
                    let n = input.withUnsafeBytes { write(p.fd, $0.baseAddress! + written, input.count - written) }
                    if n > 0 { written += n }
                    // EPIPE: the scorer closed its stdin; what it took is reported with the outcome.
                    if (n < 0 && errno != EAGAIN && errno != EINTR) || written == input.count { close(fds[1]); fds[1] = -1 }
                } else {
                    let n = chunk.withUnsafeMutableBytes { read(p.fd, $0.baseAddress!, $0.count) }
                    if n > 0 {
                        if p.fd == fds[2] { out += chunk[0..<n] } else { err += chunk[0..<n] }
                    } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                        let i = p.fd == fds[2] ? 2 : 4
                        close(fds[i]); fds[i] = -1
                    }
                }
            }
        }

        // 4. Whatever the scorer left running in its group goes with it; then reap the scorer
        //    (only after the kill: its zombie keeps the group id from being reused).
        kill(-pid, SIGKILL)
        let status = reap(pid)
        let signal = status & 0x7f
        return Outcome(exitCode: signal == 0 ? (status >> 8) & 0xff : nil, signal: signal == 0 ? nil : signal,
                       stdout: out, stderr: err, inputTaken: written)
    }

    private static func spawn(_ argv: [String], stdin: Int32, stdout: Int32, stderr: Int32) throws(Failure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setpgroup(&attr, 0)
        var defaults = sigset_t(), mask = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setsigmask(&attr, &mask)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        // glibc reports a failed exec (ENOENT, EACCES) as the return value.
        let rc = cArgs.withUnsafeBufferPointer { posix_spawnp(&pid, cArgs[0]!, &actions, &attr, $0.baseAddress!, environ) }
        guard rc == 0 else { throw .cannotStart(errno: rc) }
        return pid
    }

    /// Whether `pid` has exited, without reaping it.
    private static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return true }
        return info._sifields._sigchld.si_pid == pid
    }

    /// SIGTERM to the group, up to `grace` seconds for the scorer to exit, then SIGKILL to
    /// the group (grandchildren that ignore TERM included) and reap.
    private static func terminateGroup(_ pid: pid_t, grace: Double) {
        kill(-pid, SIGTERM)
        let end = Date().addingTimeInterval(grace)
        while !hasExited(pid) && Date() < end { usleep(5000) }
        kill(-pid, SIGKILL)
        _ = reap(pid)
    }

    /// The wait status of `pid`, blocking until it exits.
    private static func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }
}
