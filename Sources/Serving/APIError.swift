import Foundation
import Hummingbird

/// A request the service refuses or cannot answer: an HTTP status, a kind counted in the metrics
/// (`unet_errors_total{kind=...}`), and one line for the client, sent as `{"error": "...", "kind": "..."}`.
public struct APIError: Error, CustomStringConvertible, Sendable {
    public let status: HTTPResponse.Status
    /// A short name of what went wrong: `body_too_large`, `too_many_pixels`, `bad_image`, `unknown_model`, ...
    public let kind: String
    public let message: String
    /// Seconds after which the client may try again (503 when the queue is full).
    public var retryAfter: Int?
    /// The method a path takes (405).
    public var allow: String?

    public init(_ status: HTTPResponse.Status, _ kind: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.kind = kind
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(kind): \(message)" }

    /// The JSON answer, on one line.
    public var response: Response {
        let line = (try? JSONSerialization.data(withJSONObject: ["error": message, "kind": kind], options: [.sortedKeys]))
            ?? Data("{\"error\":\"internal\"}".utf8)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if let allow { headers[.allow] = allow }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: line + Data("\n".utf8))))
    }
}
