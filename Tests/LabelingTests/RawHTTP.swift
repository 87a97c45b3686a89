// A small HTTP/1.1 client over a plain socket for the server tests: full control of the bytes
// sent (oversized, malformed, wrong Host) and a reply read to the end (chunked bodies
// decoded). Blocking I/O runs on a Dispatch thread, never on the Swift concurrency pool.
import Foundation
import Tokenizers
#if canImport(Glibc)
import Glibc
#endif

struct HTTPReply {
    var status: Int
    var headers: [String: String]
    var body: String
    var json: JSONValue? { try? JSONValue.parse(body) }
    var error: String { json?["error"]?.string ?? "" }
}

enum RawHTTP {
    static func request(port: Int, _ method: String, _ path: String, host: String? = nil, headers: [String: String] = [:],
                        body: String? = nil) async throws -> HTTPReply {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\nConnection: close\r\n"
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { text += "\(k): \(v)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        return try parse(try await send(port: port, Array(text.utf8)))
    }

    /// POST of a JSON body with the token header, as the page sends it.
    static func post(port: Int, _ path: String, token: String?, _ body: String) async throws -> HTTPReply {
        var h = ["Content-Type": "application/json"]
        if let token { h["X-Label-Token"] = token }
        return try await request(port: port, "POST", path, headers: h, body: body)
    }

    /// Sends `bytes` to 127.0.0.1:port and reads until the server closes.
    static func send(port: Int, _ bytes: [UInt8]) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { cont in
            DispatchQueue.global().async {
                do { cont.resume(returning: try blockingSend(port: port, bytes)) } catch { cont.resume(throwing: error) }
            }
        }
    }

    struct SocketError: Error, CustomStringConvertible {
        var what: String
        var description: String { what }
    }

    static func blockingSend(port: Int, _ bytes: [UInt8]) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(what: "socket: \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { throw SocketError(what: "connect to port \(port): errno \(errno)") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // The server may answer (413) and close before reading a large body: keep what it said.
            if n <= 0 { break }
            sent += n
        }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    static func parse(_ raw: [UInt8]) throws -> HTTPReply {
        guard let split = find([13, 10, 13, 10], in: raw) else {
            throw SocketError(what: "no complete HTTP head in \(raw.count) bytes: \(String(decoding: raw.prefix(200), as: UTF8.self))")
        }
        let head = String(decoding: raw[..<split], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let c = line.firstIndex(of: ":") else { continue }
            headers[line[..<c].lowercased()] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(raw[(split + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return HTTPReply(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
    }

    static func dechunk(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [], i = 0
        while i < b.count, let eol = find([13, 10], in: b, from: i) {
            let size = Int(String(decoding: b[i..<eol], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
            if size == 0 { break }
            out += b[(eol + 2)..<min(b.count, eol + 2 + size)]
            i = eol + 2 + size + 2
        }
        return out
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int = 0) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= hay.count {
            if hay[i] == needle[0], Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}
