/// Offsets for buffers in one arena such that two buffers live at the same time never overlap: interval packing
/// of live ranges, greedy by size (the largest buffer first, each at the lowest offset where it fits beside the
/// buffers already placed whose lifetimes overlap its own). The arena is then about as large as the most bytes live
/// at any one step, and never larger than all buffers side by side.
public enum MemoryPlanner {
    /// A buffer: `bytes`, holding its contents from step `first` to step `last` (inclusive).
    public struct Request: Sendable, Equatable {
        public var bytes: Int
        public var first: Int
        public var last: Int

        public init(bytes: Int, first: Int, last: Int) { (self.bytes, self.first, self.last) = (bytes, first, last) }

        func overlaps(_ other: Request) -> Bool { first <= other.last && other.first <= last }
    }

    /// Each request's offset (a multiple of `alignment`) and the arena's size.
    public static func place(_ requests: [Request], alignment: Int = 64) -> (offsets: [Int], bytes: Int) {
        func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
        let order = requests.indices.sorted {
            (requests[$0].bytes, -requests[$0].first, -$0) > (requests[$1].bytes, -requests[$1].first, -$1)
        }
        var offsets = [Int](repeating: 0, count: requests.count)
        var placed: [Int] = []
        var total = 0
        for index in order {
            let request = requests[index]
            let neighbours = placed.filter { requests[$0].overlaps(request) }.sorted { offsets[$0] < offsets[$1] }
            var offset = 0
            for other in neighbours {
                if offsets[other] >= offset + request.bytes { break }
                offset = max(offset, aligned(offsets[other] + requests[other].bytes))
            }
            offsets[index] = offset
            placed.append(index)
            total = max(total, offset + request.bytes)
        }
        return (offsets, aligned(total))
    }

    /// The most bytes live at any one step: no placement can use less.
    public static func lowerBound(_ requests: [Request]) -> Int {
        guard let end = requests.map(\.last).max() else { return 0 }
        var live = [Int](repeating: 0, count: end + 2)
        for r in requests {
            live[r.first] += r.bytes
            live[r.last + 1] -= r.bytes
        }
        var (current, peak) = (0, 0)
        for delta in live {
            current += delta
            peak = max(peak, current)
        }
        return peak
    }
}
