import DNNL
import Foundation
import Graph

/// Where every buffer of a compiled network lives: one table (name, shape, type, layout, the step that first
/// writes it, the step that last reads it, offset, bytes), computed from the schedule, never written by hand.
/// Each buffer's lifetime runs from its first to its last use; a step computing in place may give its output the
/// storage of an input that nothing reads afterwards; then buffers are packed into one arena by interval packing
/// (`MemoryPlanner`), scratchpads, staged weights and gradients included. Inference weights have storage of their
/// own (they live as long as the network).
///
/// A debug build checks every run against the plan (`check(step:)`): a step that reads a buffer whose storage
/// another buffer has been written into since fails there, naming both, instead of turning into a numeric
/// mismatch layers later.
public final class MemoryPlan {
    /// One buffer of the table.
    public struct Row: Sendable {
        public let name: String
        public let kind: String
        public let shape: [Int]
        public let dataType: String
        public let layout: String
        public let producer: String
        public let lastReader: String
        /// nil: storage of its own.
        public let offset: Int?
        public let bytes: Int
    }

    public let rows: [Row]
    /// Bytes of the arena all planned buffers share.
    public let arenaBytes: Int
    /// The most bytes live at any step: no plan can use less.
    public let lowerBound: Int
    /// Bytes of buffers with storage of their own.
    public let dedicatedBytes: Int
    private let arena: Memory?
    /// Each buffer's storage group (buffers sharing storage in place share one), by buffer id; -1 for dedicated ones.
    private let group: [Int]
    /// For each group, the groups whose bytes overlap its own.
    private let overlapping: [[Int]]

    /// - Parameter place: offsets and arena size for the storage groups' requests (`MemoryPlanner.place`; tests
    ///   give a wrong one to see the check fail).
    init(steps: [Step], buffers: [Buffer],
         place: ([MemoryPlanner.Request]) -> (offsets: [Int], bytes: Int) = { MemoryPlanner.place($0) }) throws {
        var first = [Int](repeating: Int.max, count: buffers.count)
        var last = [Int](repeating: -1, count: buffers.count)
        var producer = [String](repeating: "", count: buffers.count)
        var reader = [String](repeating: "", count: buffers.count)
        for (index, step) in steps.enumerated() {
            for buffer in step.writes + step.reads {
                if first[buffer.id] == Int.max { producer[buffer.id] = step.name }
                first[buffer.id] = min(first[buffer.id], index)
                last[buffer.id] = max(last[buffer.id], index)
            }
            for buffer in step.reads { reader[buffer.id] = step.name }
        }
        // Storage groups: in-place pairs whose input is not used after the step.
        var parent = Array(buffers.indices)
        func find(_ i: Int) -> Int { parent[i] == i ? i : find(parent[i]) }
        var (groupFirst, groupLast, groupBytes) = (first, last, buffers.map(\.byteCount))
        for (index, step) in steps.enumerated() {
            for (written, read) in step.inPlace where !written.dedicated && !read.dedicated {
                let root = find(read.id)
                guard find(written.id) == written.id, written.id != root, groupLast[root] == index, first[written.id] == index,
                      written.byteCount <= groupBytes[root] else { continue }
                parent[written.id] = root
                groupLast[root] = max(groupLast[root], last[written.id])
            }
        }
        let planned = buffers.filter { !$0.dedicated && first[$0.id] != Int.max }
        let roots = Array(Set(planned.map { find($0.id) })).sorted()
        let requests = roots.map { MemoryPlanner.Request(bytes: groupBytes[$0], first: groupFirst[$0], last: groupLast[$0]) }
        let (offsets, bytes) = place(requests)
        arenaBytes = bytes
        lowerBound = MemoryPlanner.lowerBound(requests)
        dedicatedBytes = buffers.filter(\.dedicated).map(\.byteCount).reduce(0, +)
        let arena = bytes > 0 ? try Memory(MemoryDescriptor(dims: [(bytes + 3) / 4], format: .a)) : nil
        self.arena = arena
        var offsetOfRoot: [Int: Int] = [:]
        for (root, offset) in zip(roots, offsets) { offsetOfRoot[root] = offset }
        var group = [Int](repeating: -1, count: buffers.count)
        for buffer in planned {
            let root = find(buffer.id)
            group[buffer.id] = root
            try buffer.bind(arena!.dataPointer + offsetOfRoot[root]!, owner: arena!)
        }
        self.group = group
        var overlapping = [[Int]](repeating: [], count: buffers.count)
        for (i, a) in roots.enumerated() {
            for (j, b) in roots.enumerated() where i != j {
                if offsets[i] < offsets[j] + groupBytes[b], offsets[j] < offsets[i] + groupBytes[a] { overlapping[a].append(b) }
            }
        }
        self.overlapping = overlapping
        rows = buffers.filter { first[$0.id] != Int.max || $0.dedicated }.map { buffer in
            let d = buffer.descriptor
            return Row(name: buffer.name, kind: buffer.kind.rawValue, shape: d.dims, dataType: d.dataType.name,
                       layout: d.layoutName, producer: producer[buffer.id], lastReader: reader[buffer.id],
                       offset: buffer.dedicated ? nil : offsetOfRoot[find(buffer.id)], bytes: buffer.byteCount)
        }
    }

    /// The table as text: one line per buffer in the order buffers were made, then the totals.
    public var table: String {
        func mb(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
        var lines = ["offset       bytes        kind        type layout   shape              name  [first written by -> last read by]"]
        for row in rows {
            let offset = row.offset.map { String($0) } ?? "own"
            let shape = row.shape.map(String.init).joined(separator: "x")
            lines.append([offset.padding(toLength: 12, withPad: " ", startingAt: 0), String(row.bytes).padding(toLength: 12, withPad: " ", startingAt: 0),
                          row.kind.padding(toLength: 11, withPad: " ", startingAt: 0), row.dataType.padding(toLength: 4, withPad: " ", startingAt: 0),
                          row.layout.padding(toLength: 8, withPad: " ", startingAt: 0), shape.padding(toLength: 18, withPad: " ", startingAt: 0),
                          "\(row.name)  [\(row.producer) -> \(row.lastReader.isEmpty ? "-" : row.lastReader)]"].joined(separator: " "))
        }
        lines.append("arena \(mb(arenaBytes)) (the most live at once: \(mb(lowerBound))), storage of their own \(mb(dedicatedBytes))")
        return lines.joined(separator: "\n")
    }

    // MARK: - Checking runs

    /// For each storage group, the buffer whose contents it holds now (nil: none, or overwritten).
    private var holds: [Int: Int] = [:]
    /// For each storage group, the step that last overwrote it through an overlapping group.
    private var overwrittenBy: [Int: String] = [:]
    private var names: [Int: String] = [:]

    /// Forgets what the arena holds (a forward pass starts).
    func startRun() { holds = [:] }

    /// Checks that every planned buffer `step` reads holds what was last written into it, then records its writes.
    func check(step: Step) throws {
        for buffer in step.reads where group[buffer.id] >= 0 {
            let g = group[buffer.id]
            guard holds[g] == buffer.id else {
                let reason = holds[g] == nil
                    ? (overwrittenBy[g].map { "its storage was overwritten by \"\($0)\"" } ?? "nothing wrote it in this run")
                    : "its storage now holds \"\(names[holds[g]!] ?? "?")\""
                throw CompilationError("memory plan: \"\(step.name)\" read \"\(buffer.name)\", but \(reason)")
            }
        }
        for buffer in step.writes where group[buffer.id] >= 0 {
            let g = group[buffer.id]
            holds[g] = buffer.id
            names[buffer.id] = buffer.name
            for other in overlapping[g] {
                holds[other] = nil
                overwrittenBy[other] = step.name
            }
        }
    }
}
