import Foundation
import ImageIO
import ServiceLifecycle
import Workflows

/// Dynamic batching: requests of the same model, image size and test-time augmentation that arrive within
/// `batchTimeout` of the first are segmented together, up to `maxBatch` (in batches of a power of two or
/// `maxBatch`), on one worker thread off the event loop.
/// The queue is bounded: a request that finds `maxQueue` waiting is refused at once (503), never queued.
///
/// As a `Service` it runs until graceful shutdown: requests already queued are answered before the worker stops.
public final class SegmentationBatcher: Service, @unchecked Sendable {
    /// What a batch shares.
    struct Key: Hashable {
        let model: ObjectIdentifier
        let width: Int
        let height: Int
        let flips: Bool
    }

    private struct Job {
        let key: Key
        let model: ServedModel
        let image: Image
        let probabilities: Bool
        let arrival: ContinuousClock.Instant
        let continuation: CheckedContinuation<ImageSegmenter.Segmentation, any Error>
    }

    private let configuration: ServerConfiguration
    private let metrics: ServerMetrics
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var stopping = false
    private var worker: Thread?

    public init(configuration: ServerConfiguration, metrics: ServerMetrics) {
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Starts the worker, waits for graceful shutdown, then lets the worker finish the queue and stop.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await stop()
    }

    func start() {
        condition.lock()
        defer { condition.unlock() }
        guard worker == nil else { return }
        let thread = Thread { [self] in work() }
        thread.name = "unet-serve-inference"
        thread.stackSize = 8 << 20
        worker = thread
        thread.start()
    }

    /// Segments `image` with `model`, batched with other requests that share its key.
    /// - Throws: `APIError` 503 when the queue is full or the service is stopping; errors of the segmentation.
    func segment(_ image: Image, model: ServedModel, flips: Bool, probabilities: Bool) async throws -> ImageSegmenter.Segmentation {
        let key = Key(model: ObjectIdentifier(model), width: image.width, height: image.height, flips: flips)
        return try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard !stopping else {
                continuation.resume(throwing: APIError(.serviceUnavailable, "stopping", "the service is shutting down"))
                return
            }
            guard queue.count < configuration.maxQueue else {
                metrics.rejected()
                continuation.resume(throwing: APIError(.serviceUnavailable, "queue_full",
                                                       "\(queue.count) requests are waiting (--max-queue); try again shortly",
                                                       retryAfter: 1))
                return
            }
            queue.append(Job(key: key, model: model, image: image, probabilities: probabilities, arrival: .now,
                             continuation: continuation))
            metrics.queueDepth(queue.count)
            condition.broadcast()
        }
    }

    /// Stops taking requests; returns when the queue is empty and the worker has stopped.
    func stop() async {
        beginStopping()
        while !workerStopped() { try? await Task.sleep(for: .milliseconds(5)) }
    }

    private func beginStopping() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    private func workerStopped() -> Bool { condition.withLock { worker == nil } }

    /// The worker: takes the oldest request's key, waits until `maxBatch` requests of that key are queued or the
    /// oldest has waited `batchTimeout`, then segments them together.
    private func work() {
        while let batch = nextBatch() {
            run(batch)
        }
        condition.lock()
        worker = nil
        condition.unlock()
    }

    private func nextBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty {
            if stopping { return nil }
            condition.wait()
        }
        let key = queue[0].key
        let deadline = queue[0].arrival + configuration.batchTimeout
        while !stopping, queue.lazy.filter({ $0.key == key }).count < configuration.maxBatch {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { break }
            _ = condition.wait(until: Date(timeIntervalSinceNow: left.inSeconds))
        }
        let size = Self.batchSize(available: queue.lazy.filter { $0.key == key }.count, maxBatch: configuration.maxBatch)
        var batch: [Job] = []
        var rest: [Job] = []
        for job in queue {
            if job.key == key && batch.count < size { batch.append(job) } else { rest.append(job) }
        }
        queue = rest
        metrics.queueDepth(queue.count)
        return batch
    }

    /// The batch sizes run: powers of two below `maxBatch`, and `maxBatch`, so that a model keeps a few compiled
    /// networks per image size (`compiledShapes(maxBatch:)`) instead of one for every size from 1 to `maxBatch`.
    static func batchSize(available: Int, maxBatch: Int) -> Int {
        guard available < maxBatch else { return maxBatch }
        var size = 1
        while size * 2 <= available { size *= 2 }
        return size
    }

    /// How many batch sizes `batchSize(available:maxBatch:)` gives.
    public static func compiledShapes(maxBatch: Int) -> Int {
        Set((1...max(maxBatch, 1)).map { batchSize(available: $0, maxBatch: maxBatch) }).count
    }

    /// Segments a batch; when the batch fails as a whole, each request is run alone so that each gets its own answer.
    private func run(_ batch: [Job]) {
        let model = batch[0].model
        metrics.batch(size: batch.count)
        do {
            let segmenter = try model.segmenter(flips: batch[0].key.flips)
            let results = try segmenter.segment(batch.map(\.image), paths: batch.map { _ in "image" },
                                                probabilities: batch.contains { $0.probabilities })
            for (job, result) in zip(batch, results) { job.continuation.resume(returning: result) }
        } catch where batch.count > 1 {
            for job in batch { run([job]) }
        } catch {
            batch[0].continuation.resume(throwing: error)
        }
    }
}
