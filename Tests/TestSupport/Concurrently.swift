import Foundation

/// Runs work on several threads at once (concurrent clients of a server test).
public enum Concurrently {
    /// `body(0)`, …, `body(count - 1)` on `count` threads at once; their results in order.
    public static func map<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let results = Results<T>(count)
        let group = DispatchGroup()
        for k in 0..<count {
            group.enter()
            Thread.detachNewThread {
                results.set(k, body(k))
                group.leave()
            }
        }
        group.wait()
        return results.values.map { $0! }
    }

    /// The results, written under a lock.
    private final class Results<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [T?]
        init(_ count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ k: Int, _ value: T) { lock.withLock { slots[k] = value } }
        var values: [T?] { lock.withLock { slots } }
    }
}
