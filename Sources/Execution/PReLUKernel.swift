import DNNL
import Graph
import NN
import Tensors

/// `prelu` in a compiled network: oneDNN's PReLU with the learned slopes broadcast over the map, one per channel or
/// one shared by all. oneDNN always sees one slope per channel `(1, C, 1, 1)` (a shared slope repeated), in the
/// layout it picks for the data: its optimized kernels take no other (a single broadcast slope, or plain slopes beside
/// blocked data, leave only its reference loops). Backward reads the input and gives the slopes' gradient summed
/// over what they were broadcast over.
final class PReLUKernel: NodeKernel {
    private let name: String
    private let lowering: Lowering
    private let weight: Parameter
    private let slopes: MemoryDescriptor
    private let channels: Int
    private let forwardPrimitive: Primitive
    private let backwardPrimitive: Primitive?
    private var loaded: Buffer?
    private var saved: Buffer?

    init(_ node: Graph.Node, weight key: String, lowering: Lowering) throws {
        (name, self.lowering) = (node.name, lowering)
        let shape = lowering.graph.shape(node.output)
        weight = try lowering.parameter(key)
        guard weight.value.shape == [shape[1]] || weight.value.shape == [1] else {
            throw CompilationError("\(node.name): the PReLU weight \(key) must be (\(shape[1])) or (1), got \(weight.value.shape)")
        }
        let data = try lowering.descriptor(node.output)
        channels = shape[1]
        let wanted = try MemoryDescriptor(dims: [1, channels, 1, 1], dataType: data.dataType, format: .any)
        let forward = try PrimitiveDescriptor.preluForward(training: lowering.training, data: data, weights: wanted,
                                                           attributes: try lowering.attributes())
        slopes = forward.memoryDescriptor(.weights)
        forwardPrimitive = try Primitive(forward)
        if lowering.training {
            backwardPrimitive = try Primitive(.preluBackward(data: data, weights: slopes, hint: forward, attributes: try lowering.attributes()))
        } else {
            backwardPrimitive = nil
            let buffer = try lowering.buffer(name + " slopes", .weights, slopes, dedicated: true)
            loaded = buffer
            lowering.loaders.append { [unowned self] in try self.load(into: buffer) }
        }
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([true], false) }

    private func load(into buffer: Buffer) throws {
        let perChannel = weight.value.count == channels ? weight.value : Tensor(shape: [channels], repeating: weight.value[flat: 0])
        try perChannel.copy(try .whole([1, channels, 1, 1]), to: buffer.memory)
    }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        var steps: [Step] = []
        let slopes: Buffer
        if let loaded {
            slopes = loaded
        } else {
            slopes = try lowering.buffer(name + " slopes", .state, self.slopes)
            saved = slopes
            steps.append(Step("\(name): load slopes", reads: [], writes: [slopes]) { [unowned self] in try self.load(into: slopes) })
        }
        steps.append(.primitive("\(name): forward", forwardPrimitive, reading: [.source: inputs[0], .weights: slopes],
                                writing: [.destination: output], scratchpad: try lowering.scratchpad(forwardPrimitive, name)))
        return steps
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? {
        guard let saved else { return nil }
        return [.primitive("\(name): forward again", forwardPrimitive, reading: [.source: inputs[0], .weights: saved],
                           writing: [.destination: output], scratchpad: try lowering.scratchpad(forwardPrimitive, name))]
    }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard let backwardPrimitive, let saved, let x = inputs[0] else { return ([], [nil]) }
        let dx = try lowering.buffer(name + " input gradient", .gradient, outputGradient.descriptor)
        let diffSlopes = try lowering.buffer(name + " slope gradient", .weights,
                                             backwardPrimitive.descriptor.memoryDescriptor(.diffWeights))
        let (plain, channels, shared) = (try MemoryDescriptor(dims: slopes.dims, format: .abcd), channels, weight.value.count == 1)
        let step = Step.primitive("\(name): backward", backwardPrimitive,
                                  reading: [.source: x, .weights: saved, .diffDestination: outputGradient],
                                  writing: [.diffSource: dx, .diffWeights: diffSlopes],
                                  scratchpad: try lowering.scratchpad(backwardPrimitive, name), inPlace: [(dx, outputGradient)])
        sources.append(GradientSource(parameter: weight, reads: [diffSlopes], alignment: weight.value.count) { _, base in
            guard shared else {
                return try Memory.borrowing(plain, UnsafeMutableRawPointer(base)) { try copy(diffSlopes.memory, to: $0) }
            }
            var perChannel = [Float](repeating: 0, count: channels)
            try perChannel.withUnsafeMutableBytes { bytes in
                try Memory.borrowing(plain, bytes.baseAddress!) { try copy(diffSlopes.memory, to: $0) }
            }
            base.pointee = perChannel.reduce(0, +)
        })
        return ([step], [wanted[0] ? dx : nil])
    }
}
