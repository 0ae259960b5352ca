import Prometheus

/// The service's Prometheus metrics (`GET /metrics`, text exposition format):
/// - `unet_requests_total{route,status}`: answered requests;
/// - `unet_request_duration_seconds{route}`: latency histogram;
/// - `unet_queue_depth`: requests waiting for the network;
/// - `unet_batch_size`: images per network pass (histogram);
/// - `unet_errors_total{kind}`: refused or failed requests by `APIError.kind`;
/// - `unet_queue_rejections_total`: requests refused because the queue was full.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let depth: Gauge
    private let batches: ValueHistogram
    private let rejections: Counter

    /// The routes counted under their own name (anything else is `other`, so that a client cannot grow the label set).
    static let routes: Set<String> = ["/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/models", "/v1/models/{name}/segment"]

    public init(maxBatch: Int) {
        depth = registry.makeGauge(descriptor: Self.name("queue_depth", "", "Requests waiting for the network"))
        batches = registry.makeValueHistogram(descriptor: Self.name("batch_size", "", "Images per network pass"),
                                              buckets: Self.batchBuckets(maxBatch))
        rejections = registry.makeCounter(descriptor: Self.name("queue_rejections", "total", "Requests refused because the queue was full"))
    }

    func queueDepth(_ count: Int) { depth.set(Double(count)) }

    func batch(size: Int) { batches.record(Double(size)) }

    func rejected() { rejections.increment() }

    /// Counts an answered request.
    func request(route: String, status: Int, seconds: Double) {
        let route = Self.routes.contains(route) ? route : "other"
        registry.makeCounter(descriptor: Self.name("requests", "total", "Answered requests"),
                             labels: [("route", route), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.name("request_duration", "seconds", "Time from request to answer"),
                                       labels: [("route", route)], buckets: Self.latencyBuckets)
            .record(.nanoseconds(Int64(seconds * 1e9)))
    }

    /// Counts a refused or failed request by kind.
    func error(kind: String) {
        registry.makeCounter(descriptor: Self.name("errors", "total", "Refused or failed requests by kind"), labels: [("kind", kind)]).increment()
    }

    /// `unet_<metric>_<unit>`.
    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "unet", metricName: metric, unitName: unit, helpText: help)
    }

    /// The exposition text.
    public func text() -> String { registry.emitToString() }

    static let latencyBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30].map {
        .nanoseconds(Int64($0 * 1e9))
    }

    static func batchBuckets(_ maxBatch: Int) -> [Double] {
        var buckets: [Double] = []
        var b = 1
        while b < maxBatch {
            buckets.append(Double(b))
            b *= 2
        }
        return buckets + [Double(maxBatch)]
    }
}
