// `LabelServer`: the labelling page and its JSON API over HTTP (Hummingbird 2). Every request
// passes one guard: on loopback the Host header must name loopback (no DNS rebinding) and the
// page is open; elsewhere every request needs the token. State changes are POSTs of JSON that
// carry the token in a header, which a foreign page cannot send without a CORS preflight we
// never grant. Bodies are size-limited; no file path comes from a request. Leaves out TLS.
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Tokenizers

public enum LabelServer {
    static let tokenHeader = HTTPField.Name("X-Label-Token")!

    /// The server for `session`; `onRunning` gets the bound port (useful with port 0).
    public static func application(session: LabelSession, token: String, logger: Logger? = nil,
                                   onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let config = session.config
        let router = Router()
        router.add(middleware: Guard(token: token, loopback: config.bindsLoopback))
        let page = LabelPage.html(token: token)
        router.get("/") { _, _ in
            var h = securityHeaders
            h[.contentType] = "text/html; charset=utf-8"
            return Response(status: .ok, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
        }
        let limit = config.maxBodyBytes
        router.post("/api/next") { req, _ in
            await respond { () async throws(RequestError) -> JSONValue in
                let body = try await jsonBody(req, limit: limit)
                let name = try Decision.labeller(body)
                return await session.next(name)
            }
        }
        router.post("/api/back") { req, _ in
            await respond { () async throws(RequestError) -> JSONValue in
                let body = try await jsonBody(req, limit: limit)
                let name = try Decision.labeller(body)
                return try await session.back(name)
            }
        }
        router.post("/api/label") { req, _ in
            await respond { () async throws(RequestError) -> JSONValue in
                let body = try await jsonBody(req, limit: limit)
                let name = try Decision.labeller(body)
                return try await session.submit(name, body: body)
            }
        }
        router.post("/api/stream") { req, _ -> Response in
            let gen: ItemGeneration
            do {
                let body = try await jsonBody(req, limit: limit)
                guard let item = body["item"]?.int, item >= 0 else { throw RequestError(400, "field \"item\": expected an integer >= 0") }
                let name = try Decision.labeller(body)
                gen = try await session.generation(name, item: item)
            } catch let e as RequestError {
                return errorResponse(e)
            } catch {
                return errorResponse(RequestError(500, "\(error)"))
            }
            var h = securityHeaders
            h[.contentType] = "text/event-stream"
            // Server-sent events: one `data:` line of JSON per change, the last with "done": true.
            return Response(status: .ok, headers: h, body: ResponseBody { writer in
                for await snap in gen.updates() {
                    var f: [(String, JSONValue)] = [("texts", .array(snap.texts.map { .string($0) })), ("done", .bool(snap.done))]
                    if let e = snap.error { f.append(("error", .string(e))) }
                    try await writer.write(ByteBuffer(string: "data: \(JSONValue.object(f).serialized)\n\n"))
                }
                try await writer.finish(nil)
            })
        }
        let appConfig = ApplicationConfiguration(address: .hostname(config.host, port: config.port))
        var quiet = Logger(label: "rlhf-label")
        quiet.logLevel = .warning
        return Application(router: router, configuration: appConfig,
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? config.port) },
                           logger: logger ?? quiet)
    }

    static let securityHeaders: HTTPFields = [
        .cacheControl: "no-store",
        HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            + "connect-src 'self'; "
            + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    /// The body as a JSON object, refused with 413 past `limit` bytes and 400 when malformed.
    static func jsonBody(_ request: Request, limit: Int) async throws(RequestError) -> JSONValue {
        var req = request
        let buffer: ByteBuffer
        // Past the limit NIO throws its NIOTooManyBytesError, which Hummingbird maps to 413.
        do { buffer = try await req.collectBody(upTo: limit) } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw RequestError(413, "request body over \(limit) bytes")
        } catch {
            throw RequestError(400, "could not read the request body")
        }
        let v: JSONValue
        do { v = try JSONValue.parse(Foundation.Data(buffer.readableBytesView)) } catch {
            throw RequestError(400, "body is not valid JSON (\(error))")
        }
        guard v.objectPairs != nil else { throw RequestError(400, "body must be a JSON object") }
        return v
    }

    static func respond(_ work: () async throws(RequestError) -> JSONValue) async -> Response {
        do {
            let v = try await work()
            var h = securityHeaders
            h[.contentType] = "application/json"
            return Response(status: .ok, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(string: v.serialized)))
        } catch {
            return errorResponse(error)
        }
    }

    static func errorResponse(_ e: RequestError) -> Response {
        var h = securityHeaders
        h[.contentType] = "application/json"
        let body = JSONValue.object([("error", .string(e.message))]).serialized
        return Response(status: status(e.status), headers: h, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func status(_ code: Int) -> HTTPResponse.Status {
        switch code {
        case 400: return .badRequest
        case 401: return .unauthorized
        case 403: return .forbidden
        case 404: return .notFound
        case 405: return .methodNotAllowed
        case 409: return .conflict
        case 413: return .contentTooLarge
        case 415: return .unsupportedMediaType
        default: return .internalServerError
        }
    }

    /// Host and token checks before any route (see the file's header).
    struct Guard<Context: RequestContext>: RouterMiddleware {
        let token: String
        let loopback: Bool

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            if loopback {
                let host = request.head.authority ?? ""
                guard Guard.isLoopbackHost(host) else {
                    return errorResponse(RequestError(403, "Host \"\(host)\" is not a loopback name"))
                }
            }
            if request.method == .post {
                guard let given = request.headers[LabelServer.tokenHeader], Guard.same(given, token) else {
                    return errorResponse(RequestError(401, "missing or wrong X-Label-Token header"))
                }
                guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
                    return errorResponse(RequestError(415, "Content-Type must be application/json"))
                }
            } else if request.method == .get || request.method == .head {
                if !loopback {
                    let given = request.headers[LabelServer.tokenHeader] ?? request.uri.queryParameters["token"].map(String.init)
                    guard let given, Guard.same(given, token) else {
                        return errorResponse(RequestError(401, "this server needs its token: open the URL it printed"))
                    }
                }
            } else {
                return errorResponse(RequestError(405, "only GET and POST"))
            }
            return try await next(request, context)
        }

        static func isLoopbackHost(_ authority: String) -> Bool {
            var host = Substring(authority)
            if host.hasPrefix("[") { host = host.dropFirst().prefix { $0 != "]" } }
            else if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
            return LabelConfig.isLoopback(String(host))
        }

        /// Compares without stopping at the first difference, so timing does not leak the token.
        static func same(_ a: String, _ b: String) -> Bool {
            let x = Array(a.utf8), y = Array(b.utf8)
            var diff = UInt8(x.count == y.count ? 0 : 1)
            for i in 0..<min(x.count, y.count) { diff |= x[i] ^ y[i] }
            return diff == 0
        }
    }
}
