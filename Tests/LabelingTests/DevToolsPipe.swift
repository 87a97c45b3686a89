// A minimal Chrome DevTools Protocol client for the browser test: starts headless chromium
// with --remote-debugging-pipe (requests in on fd 3, replies out on fd 4, each message JSON
// ended by a NUL byte), sends commands and waits for their replies, skipping events.
// Leaves out event subscriptions and WebSockets: the test polls the page instead.
import Foundation
import Tokenizers
#if canImport(Glibc)
import Glibc
#endif

final class DevToolsPipe: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let pid: pid_t
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private var nextId = 0
    private var pending: [UInt8] = []
    private let queue = DispatchQueue(label: "devtools-pipe")
    let logPath: String

    /// The first chromium on PATH (or $RLHF_CHROMIUM), nil when there is none.
    static func findChromium() -> String? {
        if let p = ProcessInfo.processInfo.environment["RLHF_CHROMIUM"], FileManager.default.isExecutableFile(atPath: p) { return p }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
                let p = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: p) { return p }
            }
        }
        return nil
    }

    init(chromium: String, profileDir: String) throws {
        var a: [Int32] = [0, 0], b: [Int32] = [0, 0]
        guard pipe(&a) == 0, pipe(&b) == 0 else { throw Failure(description: "pipe: errno \(errno)") }
        // Our ends must not leak into the child; dup2 onto 3 and 4 clears the flag there.
        for fd in a + b { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        logPath = profileDir + "/chromium.log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, a[0], 3)
        posix_spawn_file_actions_adddup2(&actions, b[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        let args = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                    "--user-data-dir=\(profileDir)", "--no-first-run", "--no-default-browser-check",
                    "--disable-extensions", "--disable-background-networking", "--mute-audio", "about:blank"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, chromium, &actions, nil, &argv, &envp)
        Glibc.close(a[0]); Glibc.close(b[1])
        guard rc == 0 else {
            Glibc.close(a[1]); Glibc.close(b[0])
            throw Failure(description: "posix_spawn \(chromium): \(String(cString: strerror(rc)))")
        }
        pid = child; toBrowser = a[1]; fromBrowser = b[0]
    }

    /// Ends the browser this test started (by its pid) and closes the pipe.
    func close() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<50 { if waitpid(pid, &status, WNOHANG) == pid { break }; usleep(100_000) }
        if waitpid(pid, &status, WNOHANG) == 0 { kill(pid, SIGKILL); waitpid(pid, &status, 0) }
        Glibc.close(toBrowser); Glibc.close(fromBrowser)
    }

    /// Sends `method` and returns its "result"; throws on an "error" reply or after `timeout` s.
    func call(_ method: String, _ params: [(String, JSONValue)] = [], session: String? = nil, timeout: Double = 30) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { cont in
            queue.async { [self] in
                do { cont.resume(returning: try blockingCall(method, params, session: session, timeout: timeout)) } catch {
                    cont.resume(throwing: error)
                }
            }
        }
    }

    private func blockingCall(_ method: String, _ params: [(String, JSONValue)], session: String?, timeout: Double) throws -> JSONValue {
        nextId += 1
        let id = nextId
        var msg: [(String, JSONValue)] = [("id", .int(id)), ("method", .string(method)), ("params", .object(params))]
        if let session { msg.append(("sessionId", .string(session))) }
        let bytes = Array(JSONValue.object(msg).serialized.utf8) + [0]
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(toBrowser, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "\(method): write to chromium failed (errno \(errno)); see \(logPath)") }
            sent += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while let nul = pending.firstIndex(of: 0) {
                let text = String(decoding: pending[..<nul], as: UTF8.self)
                pending.removeSubrange(...nul)
                let reply = try JSONValue.parse(text)
                guard reply["id"]?.int == id else { continue }   // an event, or a late reply
                if let e = reply["error"] { throw Failure(description: "\(method): \(e.serialized)") }
                return reply["result"] ?? .null
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure(description: "\(method): no reply in \(timeout) s") }
            var fds = pollfd(fd: fromBrowser, events: Int16(POLLIN), revents: 0)
            guard poll(&fds, 1, Int32(min(left, 1) * 1000)) >= 0 else { throw Failure(description: "poll: errno \(errno)") }
            if fds.revents == 0 { continue }
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(fromBrowser, &buf, buf.count)
            guard n > 0 else { throw Failure(description: "\(method): chromium closed the pipe; see \(logPath)") }
            pending += buf[0..<n]
        }
    }
}

/// One page of the browser, attached in flat mode so commands carry its session id.
struct BrowserPage {
    let pipe: DevToolsPipe
    let session: String

    static func open(_ pipe: DevToolsPipe, url: String, width: Int, height: Int) async throws -> BrowserPage {
        let target = try await pipe.call("Target.createTarget", [("url", .string("about:blank"))])
        guard let id = target["targetId"]?.string else { throw DevToolsPipe.Failure(description: "no targetId: \(target.serialized)") }
        let attached = try await pipe.call("Target.attachToTarget", [("targetId", .string(id)), ("flatten", .bool(true))])
        guard let session = attached["sessionId"]?.string else { throw DevToolsPipe.Failure(description: "no sessionId") }
        let page = BrowserPage(pipe: pipe, session: session)
        _ = try await pipe.call("Emulation.setDeviceMetricsOverride", [("width", .int(width)), ("height", .int(height)),
                                ("deviceScaleFactor", .int(1)), ("mobile", .bool(false))], session: session)
        _ = try await pipe.call("Page.navigate", [("url", .string(url))], session: session)
        return page
    }

    /// The value of a JS expression (promises awaited).
    func eval(_ js: String) async throws -> JSONValue {
        let r = try await pipe.call("Runtime.evaluate", [("expression", .string(js)), ("returnByValue", .bool(true)),
                                                         ("awaitPromise", .bool(true))], session: session)
        if let ex = r["exceptionDetails"] { throw DevToolsPipe.Failure(description: "JS \(js): \(ex.serialized)") }
        return r["result"]?["value"] ?? .null
    }

    /// Polls until `js` is true.
    func wait(for js: String, timeout: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? await eval(js))?.bool == true { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let status = (try? await eval("document.getElementById('status') && document.getElementById('status').textContent")) ?? .null
        throw DevToolsPipe.Failure(description: "timed out waiting for \(js); page status: \(status.serialized)")
    }

    /// A key press as a person makes it (keyDown with its text, then keyUp).
    func press(_ key: String) async throws {
        let (code, vk, text): (String, Int, String?)
        switch key {
        case "Enter": (code, vk, text) = ("Enter", 13, "\r")
        case "Backspace": (code, vk, text) = ("Backspace", 8, nil)
        default:
            let c = key.uppercased()
            (code, vk, text) = (c.first!.isNumber ? "Digit\(c)" : "Key\(c)", Int(c.unicodeScalars.first!.value), key)
        }
        var down: [(String, JSONValue)] = [("type", .string("keyDown")), ("key", .string(key)), ("code", .string(code)),
                                           ("windowsVirtualKeyCode", .int(vk))]
        if let text { down.append(("text", .string(text))) }
        _ = try await pipe.call("Input.dispatchKeyEvent", down, session: session)
        _ = try await pipe.call("Input.dispatchKeyEvent", [("type", .string("keyUp")), ("key", .string(key)), ("code", .string(code)),
                                                           ("windowsVirtualKeyCode", .int(vk))], session: session)
    }

    func type(_ text: String) async throws {
        _ = try await pipe.call("Input.insertText", [("text", .string(text))], session: session)
    }

    func screenshot() async throws -> Foundation.Data {
        let r = try await pipe.call("Page.captureScreenshot", [("format", .string("png"))], session: session)
        guard let b64 = r["data"]?.string, let png = Foundation.Data(base64Encoded: b64) else {
            throw DevToolsPipe.Failure(description: "no screenshot data")
        }
        return png
    }
}
