import DNNL
@testable import Execution
import Foundation
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing

@Suite("Memory plan: the buffer table, packing, and the debug check")
struct MemoryPlanTests {
    /// A base-3 U-Net training at 32x32, batch 2: its 3, 6 and 12 channels fill no channel block, so it runs NHWC
    /// (its batch norms on 3 and 6 channels NCHW) on AVX2's blocks of 8 and AVX-512's of 16 alike, and its plan is the
    /// same on both.
    /// A small training network that makes convolution outputs again (as large ones do by default): every kind of buffer.
    static func network(passes: Set<Pass> = Set(Pass.allCases)) throws -> CompiledUNet {
        var g = SeededGenerator(seed: 3)
        let model = try UNet(.milesial(inputChannels: 3, classes: 2, baseWidth: 3, depth: 2), generator: &g)
        return try CompiledUNet(model, inputShape: [2, 3, 32, 32], training: true, recomputesConvolutions: true, passes: passes)
    }

    /// The table's lines that do not depend on the CPU: every activation, gradient and state buffer with its shape,
    /// type, first writer and last reader (staged weights' layouts, workspaces and scratchpads are oneDNN's choice
    /// per CPU, so only their names and lifetimes are kept).
    static func snapshot(_ plan: MemoryPlan) -> String {
        plan.rows.filter { $0.kind != "scratchpad" && $0.kind != "weights" }.map { row in
            let size = row.name.hasSuffix("workspace") ? "" : "\(row.shape.map(String.init).joined(separator: "x")) \(row.dataType) \(row.bytes) "
            return "\(row.kind) \(row.name) \(size)[\(row.producer) -> \(row.lastReader)]"
        }.joined(separator: "\n") + "\n"
    }

    /// The plan of a small training network, kept as a snapshot: a change to passes, schedule or planner that
    /// changes which buffers exist or how long they live shows here. `UNET_UPDATE_SNAPSHOTS=1` rewrites it.
    @Test("the buffer table of a small training U-Net matches its snapshot",
          .enabled(if: CPUISA.channelBlock != nil, "the snapshot is AVX2's and AVX-512's plan; without them every map is NHWC"))
    func snapshotTable() throws {
        let plan = try Self.network().network.memoryPlan
        let text = Self.snapshot(plan)
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Snapshots/memory_plan_milesial_b3_d2_train.txt").path
        if ProcessInfo.processInfo.environment["UNET_UPDATE_SNAPSHOTS"] != nil {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        let (a, b) = (text.split(separator: "\n", omittingEmptySubsequences: false), expected.split(separator: "\n", omittingEmptySubsequences: false))
        let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
        #expect(text == expected, "line \(first + 1): got \"\(first < a.count ? a[first] : "")\", snapshot \"\(first < b.count ? b[first] : "")\"")
    }

    @Test("planning shares storage: the arena is far smaller than the buffers side by side, and near the most live at once")
    func packing() throws {
        let planned = try Self.network().network.memoryPlan
        let unplanned = try Self.network(passes: Set(Pass.allCases).subtracting([.planMemory])).network.memoryPlan
        #expect(unplanned.arenaBytes == 0, "without the pass every buffer has storage of its own")
        let total = planned.rows.filter { $0.offset != nil }.map(\.bytes).reduce(0, +)
        #expect(Double(planned.arenaBytes) < 0.5 * Double(total))
        #expect(planned.arenaBytes >= planned.lowerBound)
        #expect(Double(planned.arenaBytes) <= 1.25 * Double(planned.lowerBound))
    }

    /// Buffers and steps made by hand: `a` written, then `b` written where `a` lives (a planner that put every
    /// buffer at offset 0), then `a` read.
    @Test("a read of a buffer whose storage was overwritten fails at the step that reads it, naming both")
    func staleRead() throws {
        let placeholder = try Memory(MemoryDescriptor(dims: [16], format: .a))
        let descriptor = try MemoryDescriptor(dims: [64], format: .a)
        let a = try Buffer(id: 0, name: "a", kind: .activation, descriptor: descriptor, dedicated: false, placeholder: placeholder)
        let b = try Buffer(id: 1, name: "b", kind: .activation, descriptor: descriptor, dedicated: false, placeholder: placeholder)
        let steps = [Step("write a", reads: [], writes: [a]) {}, Step("write b", reads: [], writes: [b]) {},
                     Step("read a", reads: [a], writes: []) {}]
        let wrong = try MemoryPlan(steps: steps, buffers: [a, b]) { requests in (requests.map { _ in 0 }, 256) }
        wrong.startRun()
        try wrong.check(step: steps[0])
        try wrong.check(step: steps[1])
        #expect {
            try wrong.check(step: steps[2])
        } throws: { "\($0)" == "memory plan: \"read a\" read \"a\", but its storage was overwritten by \"write b\"" }
        let right = try MemoryPlan(steps: steps, buffers: [a, b])
        right.startRun()
        for step in steps { try right.check(step: step) }
        right.startRun()
        #expect(throws: CompilationError.self) { try right.check(step: steps[2]) }
    }
}
