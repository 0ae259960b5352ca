import Foundation

/// Produces elements `0..<count` in order on a background thread, at most `capacity` ahead of the consumer, so
/// that input preparation overlaps computation. Errors are delivered with the element that raised them.
final class Prefetcher<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [Int: Result<Element, any Error>] = [:]
    private var delivered = 0
    private var produced = 0
    private var cancelled = false
    private let count: Int

    init(count: Int, capacity: Int, make: @escaping @Sendable (Int) throws -> Element) {
        self.count = count
        let thread = Thread { [self] in
            for index in 0..<count {
                condition.lock()
                while produced - delivered >= capacity && !cancelled { condition.wait() }
                let stop = cancelled
                condition.unlock()
                if stop { return }
                let result = Result { try make(index) }
                condition.lock()
                ready[index] = result
                produced += 1
                condition.broadcast()
                condition.unlock()
            }
        }
        thread.name = "unet.prefetch"
        thread.start()
    }

    /// The next element in order, waiting for it if needed; nil after the last.
    func next() throws -> Element? {
        condition.lock()
        defer { condition.unlock() }
        guard delivered < count else { return nil }
        while ready[delivered] == nil { condition.wait() }
        let result = ready.removeValue(forKey: delivered)!
        delivered += 1
        condition.broadcast()
        return try result.get()
    }

    /// Stops producing (the thread ends after its current element).
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    deinit { cancel() }
}
