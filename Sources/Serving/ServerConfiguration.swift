/// How `SegmentationServer` listens, batches and limits requests (`unet serve`'s flags).
public struct ServerConfiguration: Sendable {
    /// The address to bind: loopback unless the operator says otherwise.
    public var host = "127.0.0.1"
    /// The TCP port; 0 lets the system choose a free one (the address is reported when listening).
    public var port = 8080
    /// The most images of one model and size run through the network together.
    public var maxBatch = 8
    /// How long the first request of a batch waits for others to join it.
    public var batchTimeout: Duration = .milliseconds(10)
    /// The most requests waiting for the network; more are answered 503 with `Retry-After`.
    public var maxQueue = 64
    /// The largest request body, checked from `Content-Length` before reading and while reading (413).
    public var maxBodyBytes = 32 << 20
    /// The most pixels an image may declare; larger ones are answered 413 before any pixel is decoded.
    public var maxPixels = 16_777_216
    /// How long a request may take to arrive in full and a connection may stay idle.
    public var requestTimeout: Duration = .seconds(30)
    /// The bearer token every `/v1` request must carry, when set.
    public var token: String?

    public init() {}
}
