import CVectorMath
import DNNL
import Graph

/// `dropout` and `drop_path` (`Op.dropout`) in a training network: `y = x · m / (1 − rate)`, `m` 0 with probability
/// `rate` and 1 otherwise, for each value or for each image's whole map. Backward: `dx = dy · m / (1 − rate)`, the
/// same `m`, which is drawn again rather than kept: each draw is a hash of the network's seed, the node, the count of
/// forward runs and the value's place in memory (the image's index for a whole map), so making the output again for
/// backward, and backward itself, see the mask forward used while nothing is stored. A place in memory is a value of
/// the same element in `x`, `y`, `dy` and `dx`, which share a layout; a blocked layout's padding channels hold zeros,
/// which stay zeros. Loops over float32 or bf16 (the map's precision, which the op keeps; a whole map's bf16 run in
/// `scaled_run.h`'s vector loop).
final class DropoutKernel: NodeKernel {
    private let name: String
    private let rate: Float
    private let perSample: Bool
    private let images: Int
    private let elements: DataType
    /// The network's seed mixed with the node's name: this node's stream of masks.
    private let stream: UInt64
    /// Forward runs so far; the mask of the current one is number `draws`.
    private var draws: UInt64 = 0
    private let lowering: Lowering

    init(_ node: Graph.Node, rate: Float, perSample: Bool, lowering: Lowering) throws {
        guard lowering.training else { throw CompilationError("\(node.name): dropout in an inference network (remove it first)") }
        let elements = lowering.dataType(node.output)
        guard elements == .f32 || elements == .bf16, lowering.dataType(node.inputs[0]) == elements else {
            throw CompilationError("\(node.name): dropout runs on float32 or bf16 maps of one precision")
        }
        (name, self.rate, self.perSample, self.elements, self.lowering) = (node.name, rate, perSample, elements, lowering)
        images = lowering.graph.shape(node.output)[0]
        // FNV-1a of the name: the same stream in every process, where Swift's `hashValue` is seeded per process.
        let named = node.name.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
        stream = Self.mixed(lowering.randomSeed ^ named)
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        let (x, y) = (inputs[0], output)
        return [Step("\(name): forward", reads: [x], writes: [y], inPlace: [(y, x)]) { [unowned self] in
            draws &+= 1
            apply(from: x, to: y)
        }]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? {
        let (x, y) = (inputs[0], output)
        return [Step("\(name): recompute", reads: [x], writes: [y], inPlace: [(y, x)]) { [unowned self] in apply(from: x, to: y) }]
    }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard wanted[0] else { return ([], [nil]) }
        let dy = outputGradient
        let dx = try lowering.buffer(name + " input gradient", .gradient, dy.descriptor)
        let step = Step("\(name): backward", reads: [dy], writes: [dx], inPlace: [(dx, dy)]) { [unowned self] in apply(from: dy, to: dx) }
        return ([step], [dx])
    }

    /// `to = from · m / (1 − rate)` with the current draw's mask; `from` and `to` may be one memory.
    private func apply(from source: Buffer, to destination: Buffer) {
        let size = elements == .f32 ? 4 : 2
        let count = destination.byteCount / size
        let key = Self.mixed(stream ^ (draws &* 0x9E37_79B9_7F4A_7C15))
        let scale = 1 / (1 - rate)
        let (from, to) = (source.memory.dataPointer, destination.memory.dataPointer)
        let perImage = count / images
        // A run of places that share one factor: an image's whole map for drop path, one value for dropout.
        let run = perSample ? perImage : 1
        if elements == .f32 {
            let (a, b) = (from.assumingMemoryBound(to: Float.self), to.assumingMemoryBound(to: Float.self))
            for start in stride(from: 0, to: count, by: run) {
                let f = Self.unit(key, UInt64(start / run)) < rate ? 0 : scale
                for i in start..<start + run { b[i] = a[i] * f }
            }
        } else if perSample {
            let (a, b) = (from.assumingMemoryBound(to: UInt16.self), to.assumingMemoryBound(to: UInt16.self))
            for start in stride(from: 0, to: count, by: run) {
                let f = Self.unit(key, UInt64(start / run)) < rate ? 0 : scale
                unet_scale_run_bf16(a + start, b + start, run, f, Self.lanes)
            }
        } else {
            let (a, b) = (from.assumingMemoryBound(to: BFloat16.self), to.assumingMemoryBound(to: BFloat16.self))
            for i in 0..<count { b[i] = BFloat16(float: a[i].float * (Self.unit(key, UInt64(i)) < rate ? 0 : scale)) }
        }
    }

    /// The float lanes of the vectors the bf16 loop runs on (`scaled_run.h`).
    private static let lanes = Int32(CPUISA.channelBlock ?? 4)

    /// SplitMix64's finalizer: a well-mixed 64-bit value.
    @inline(__always) static func mixed(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform number in [0, 1) for place `index` of the draw `key`.
    @inline(__always) static func unit(_ key: UInt64, _ index: UInt64) -> Float {
        Float(mixed(key &+ index &* 0x9E37_79B9_7F4A_7C15) >> 40) * 0x1p-24
    }
}
