import Foundation
import Hummingbird
import ImageIO
import Logging
import Multipart
import NIOCore
import ServiceLifecycle
import Synchronization
import Workflows

/// `unet serve`: an HTTP service that segments images with one or more models.
///
/// Routes: `POST /v1/models/{name}/segment` (an image body, raw or `multipart/form-data`), `GET /v1/models`,
/// `GET /healthz`, `GET /readyz` (200 once every model has run once), `GET /metrics` (Prometheus), `GET /openapi.json`
/// and `GET /` (a page to try a model); any other path is 404 and any other method 405, with the JSON error of every
/// refusal. Segmentation runs off the event loop in `SegmentationBatcher`; bodies are
/// limited before they are read, images before they are decoded; SIGTERM or SIGINT stop accepting connections,
/// answer the requests in flight, and return.
public final class SegmentationServer: Sendable {
    public let models: [ServedModel]
    public let configuration: ServerConfiguration
    let metrics: ServerMetrics
    let batcher: SegmentationBatcher
    private let logger: Logger
    private let ready = Atomic<Bool>(false)

    /// - Parameter models: at least one; names are unique (the first is the page's default).
    public init(models: [ServedModel], configuration: ServerConfiguration, logger: Logger) {
        self.models = models
        self.configuration = configuration
        self.logger = logger
        self.metrics = ServerMetrics(maxBatch: configuration.maxBatch)
        self.batcher = SegmentationBatcher(configuration: configuration, metrics: metrics)
    }

    /// Serves until SIGTERM or SIGINT, then drains and returns.
    /// - Parameter listening: called with the address once the socket is bound (`http://HOST:PORT`).
    public func run(listening: @escaping @Sendable (String) -> Void) async throws {
        ImageReader.maximumPixels = configuration.maxPixels
        let router = Router()
        addRoutes(to: router)
        let seconds = configuration.requestTimeout.components.seconds
        let application = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(max(seconds, 1)))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "unet"),
            onServerRunning: { [self] channel in
                listening("http://\(configuration.host):\(channel.localAddress?.port ?? configuration.port)")
                Task { await warmUp() }
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [batcher, application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped: every request answered")
    }

    /// One segmentation per model at a small size, so that `/readyz` answers 200 only once every network is compiled
    /// and has run.
    private func warmUp() async {
        do {
            for model in models {
                let side = max(model.summary.minimumSide, min(64, model.summary.tile ?? 64))
                // Gray: the image a model of any channel count reads (gray is repeated into every channel).
                let image = try Image(width: side, height: side, channels: 1, samples: [UInt16](repeating: 128, count: side * side))
                _ = try await batcher.segment(image, model: model, flips: model.defaultFlips, probabilities: false)
            }
            ready.store(true, ordering: .releasing)
            logger.info("models warmed up: ready")
        } catch {
            logger.error("warm-up failed: \(error)")
        }
    }

    private func addRoutes(to router: Router<BasicRequestContext>) {
        router.add(middleware: UnknownPathAnswer { error in await self.answer("other") { throw error } })
        router.get("/") { _, _ in
            await self.answer("/") { SegmentationAnswer.bytes(Array(WebPage.html.utf8), contentType: "text/html; charset=utf-8") }
        }
        router.get("/healthz") { _, _ in await self.answer("/healthz") { Self.json(["status": "ok"]) } }
        router.get("/readyz") { _, _ in
            await self.answer("/readyz") {
                guard self.ready.load(ordering: .acquiring) else {
                    throw APIError(.serviceUnavailable, "not_ready", "the models are warming up", retryAfter: 1)
                }
                return Self.json(["status": "ready"])
            }
        }
        router.get("/metrics") { _, _ in
            await self.answer("/metrics") {
                SegmentationAnswer.bytes(Array(self.metrics.text().utf8), contentType: "text/plain; version=0.0.4; charset=utf-8")
            }
        }
        router.get("/openapi.json") { _, _ in
            await self.answer("/openapi.json") {
                SegmentationAnswer.bytes(Array(OpenAPIDocument.json(secured: self.configuration.token != nil).utf8),
                                         contentType: "application/json")
            }
        }
        router.get("/v1/models") { request, _ in
            await self.answer("/v1/models") {
                try self.authorize(request)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                struct Models: Encodable { let models: [ModelDescription] }
                return SegmentationAnswer.bytes(Array(try encoder.encode(Models(models: self.models.map(\.summary)))),
                                                contentType: "application/json")
            }
        }
        router.post("/v1/models/:name/segment") { request, context in
            await self.answer("/v1/models/{name}/segment") { try await self.segment(request, name: context.parameters.get("name") ?? "") }
        }
        // Any other method on these paths is 405 with the one allowed (RFC 9110), not "not found".
        let allowed: [(path: RouterPath, route: String, method: HTTPRequest.Method)] = [
            ("/", "/", .get), ("/healthz", "/healthz", .get), ("/readyz", "/readyz", .get), ("/metrics", "/metrics", .get),
            ("/openapi.json", "/openapi.json", .get), ("/v1/models", "/v1/models", .get),
            ("/v1/models/:name/segment", "/v1/models/{name}/segment", .post),
        ]
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .options, .trace] + [HTTPRequest.Method("QUERY")].compactMap { $0 }
        for (path, route, method) in allowed {
            for other in methods where other != method {
                router.on(path, method: other) { _, _ in
                    await self.answer(route) {
                        var error = APIError(.methodNotAllowed, "method_not_allowed", "\(route) takes \(method.rawValue) only")
                        error.allow = method.rawValue
                        throw error
                    }
                }
            }
        }
    }

    /// Reads, decodes and segments a request's image.
    private func segment(_ request: Request, name: String) async throws -> Response {
        let start = ContinuousClock.now
        try authorize(request)
        guard let model = models.first(where: { $0.name == name }) else {
            throw APIError(.notFound, "unknown_model", "no model named '\(name.prefix(60))' (GET /v1/models lists them)")
        }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let options = try SegmentOptions(query: query, accept: request.headers[.accept])
        let body = try await readBody(request)
        let contentType = request.headers[.contentType]?.lowercased() ?? "application/octet-stream"
        let bytes: [UInt8]
        if contentType.hasPrefix("multipart/form-data") {
            do {
                bytes = try MultipartBody.image(in: body, contentType: request.headers[.contentType] ?? "")
            } catch {
                throw APIError(.badRequest, "bad_multipart", error.description)
            }
        } else if contentType.hasPrefix("image/") || contentType.hasPrefix("application/octet-stream") {
            bytes = body
        } else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "Content-Type '\(contentType.prefix(60))': send an image (image/*, application/octet-stream) or multipart/form-data")
        }
        let image: Image
        do {
            image = try ImageReader.decode(bytes, path: "body")
        } catch {
            throw error.isAbovePixelLimit
                ? APIError(.contentTooLarge, "too_many_pixels", "\(error.reason.replacingOccurrences(of: "--max-pixels", with: "the server's --max-pixels"))")
                : APIError(.badRequest, "bad_image", error.description)
        }
        let result: ImageSegmenter.Segmentation
        do {
            result = try await batcher.segment(image, model: model, flips: options.flips ?? model.defaultFlips,
                                               probabilities: options.answer == .probabilities)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.unprocessableContent, "cannot_segment", "\(error)")
        }
        return try SegmentationAnswer.response(result, model: model, options: options, seconds: start.duration(to: .now).inSeconds)
    }

    /// The body, refused (413) when its declared or actual length passes `maxBodyBytes`, and (408) when it has not
    /// arrived within `requestTimeout`.
    private func readBody(_ request: Request) async throws -> [UInt8] {
        let limit = configuration.maxBodyBytes
        let tooLarge = APIError(.contentTooLarge, "body_too_large", "the body is larger than \(limit) bytes (--max-body-mb)")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        let timeout = configuration.requestTimeout
        let body = request.body
        do {
            return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask { Array(try await body.collect(upTo: limit).readableBytesView) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let bytes = first else {
                    throw APIError(.requestTimeout, "timeout", "the body did not arrive within \(timeout.components.seconds) s")
                }
                return bytes
            }
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "incomplete_body", "the body ended before its declared length")
        }
    }

    /// Refuses a request without the bearer token, when one is set (the comparison takes the same time wherever the
    /// tokens differ).
    private func authorize(_ request: Request) throws(APIError) {
        guard let token = configuration.token else { return }
        let given = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard BearerToken.matches(given, token) else {
            throw APIError(.unauthorized, "unauthorized", "a valid 'Authorization: Bearer TOKEN' header is required")
        }
    }

    /// Runs a route: errors become their one-line JSON answer; every answer is counted and timed.
    private func answer(_ route: String, _ body: () async throws -> Response) async -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await body()
        } catch let error as APIError {
            metrics.error(kind: error.kind)
            response = error.response
        } catch {
            metrics.error(kind: "internal")
            logger.error("\(route): \(error)")
            response = APIError(.internalServerError, "internal", "internal error").response
        }
        metrics.request(route: route, status: response.status.code, seconds: start.duration(to: .now).inSeconds)
        return response
    }

    private static func json(_ object: [String: String]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return SegmentationAnswer.bytes(Array(data), contentType: "application/json")
    }
}
