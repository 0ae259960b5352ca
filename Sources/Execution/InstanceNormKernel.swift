import DNNL
import Graph
import NN
import Tensors

/// `instance_norm` in a compiled network: each image normalised by its own per-channel statistics, in training and
/// in eval mode alike (PyTorch's default `track_running_stats=False`); in inference a fused ReLU or leaky ReLU is
/// oneDNN's eltwise post-op. Each image of a batch is a contiguous
/// `(1, C, H, W)` block in every layout the engine uses (NCHW, NHWC, blocked), so the op runs as oneDNN's batch
/// norm on each image in turn: a batch of one is instance norm. Backward runs per image too (in place on the output
/// gradient where nothing reads it later), and the affine gradients are summed over the images.
final class InstanceNormKernel: NodeKernel {
    private let name: String
    private let lowering: Lowering
    private let batch: Int
    private let channels: Int
    private let sampleBytes: Int
    private let sample: MemoryDescriptor
    private let weight: Parameter?
    private let bias: Parameter?
    private let forwardPrimitive: Primitive
    private let recomputePrimitive: Primitive?
    private let backwardPrimitive: Primitive?
    /// Training: the per-image statistics and the affine parameters of the last forward.
    private var saved: (mean: Buffer, variance: Buffer, scale: Buffer?, shift: Buffer?)?
    /// Inference: the affine parameters, loaded once.
    private var loaded: (scale: Buffer, shift: Buffer)?

    init(_ node: Graph.Node, attributes a: InstanceNormAttributes, lowering: Lowering) throws {
        (name, self.lowering) = (node.name, lowering)
        let shape = lowering.graph.shape(node.output)
        (batch, channels) = (shape[0], shape[1])
        let data = try lowering.descriptor(node.output)
        sample = try MemoryDescriptor(dims: [1] + shape.dropFirst(), dataType: data.dataType,
                                      format: lowering.descriptor(node.output).layoutTag ?? .abcd)
        sampleBytes = sample.byteCount
        guard sampleBytes * batch == data.byteCount else {
            throw CompilationError("\(node.name): instance norm needs each image's channels stored together (layout \(data.layoutName))")
        }
        let affine = try Self.checkedAffine(node, a, lowering: lowering)
        (weight, bias) = (affine?.weight, affine?.bias)
        let flags: BatchNormalizationFlags = a.affinePrefix == nil ? [] : [.useScale, .useShift]
        let training = lowering.training
        let activation = Lowering.postOps(a.activation)
        guard !training || activation.isEmpty else {
            throw CompilationError("\(node.name): a fused activation is for inference only")
        }
        let forward = try PrimitiveDescriptor.batchNormalizationForward(
            training: training, data: sample, epsilon: a.epsilon, flags: flags, attributes: try lowering.attributes(activation))
        forwardPrimitive = try Primitive(forward)
        guard training else {
            (recomputePrimitive, backwardPrimitive) = (nil, nil)
            if a.affinePrefix != nil {
                let vector = try MemoryDescriptor(dims: [channels], format: .a)
                let loaded = (scale: try lowering.buffer(name + " scale", .weights, vector, dedicated: true),
                              shift: try lowering.buffer(name + " shift", .weights, vector, dedicated: true))
                self.loaded = loaded
                lowering.loaders.append { [unowned self] in
                    try self.weight!.value.copy(try .whole([self.channels]), to: loaded.scale.memory)
                    try self.bias!.value.copy(try .whole([self.channels]), to: loaded.shift.memory)
                }
            }
            return
        }
        backwardPrimitive = try Primitive(.batchNormalizationBackward(
            diffData: sample, data: sample, epsilon: a.epsilon, flags: flags, hint: forward, attributes: try lowering.attributes()))
        recomputePrimitive = try Primitive(.batchNormalizationForward(
            training: false, data: sample, epsilon: a.epsilon, flags: flags.union(.useGlobalStatistics),
            attributes: try lowering.attributes()))
    }

    /// The affine weight and bias of the instance norm `node` (nil when not affine), after the checks of both its
    /// kernels (this one and `InstanceNormInt8Kernel`): more than one value per channel, and `(C)` tensors.
    static func checkedAffine(_ node: Graph.Node, _ a: InstanceNormAttributes, lowering: Lowering) throws
        -> (weight: Parameter, bias: Parameter)?
    {
        let shape = lowering.graph.shape(node.output)
        guard shape[2] * shape[3] > 1 else {
            throw CompilationError("\(node.name): instance norm needs more than 1 value per channel, got input \(shape)")
        }
        guard let prefix = a.affinePrefix else { return nil }
        let (weight, bias) = (try lowering.parameter(prefix + "weight"), try lowering.parameter(prefix + "bias"))
        for p in [weight, bias] where p.value.shape != [shape[1]] {
            throw CompilationError("\(node.name): instance norm tensors must be (\(shape[1])), got \(p.value.shape)")
        }
        return (weight, bias)
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([true], false) }

    private var vector: MemoryDescriptor { get throws { try MemoryDescriptor(dims: [channels], format: .a) } }
    private var perImage: MemoryDescriptor { get throws { try MemoryDescriptor(dims: [batch * channels], format: .a) } }

    /// Memories over image `n` of each buffer (`sample` for maps, `(C)` for per-image vectors).
    private func images(_ buffer: Buffer, vector: Bool = false) throws -> [Memory] {
        let d = vector ? try self.vector : sample
        let step = vector ? channels * 4 : sampleBytes
        return try (0..<batch).map { try buffer.view(d, offset: $0 * step) }
    }

    // MARK: - Forward

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        let (x, y) = (try images(inputs[0]), try images(output))
        let scratch = try lowering.scratchpad(forwardPrimitive, name)
        let primitive = forwardPrimitive
        guard lowering.training else {
            let affine: [Argument: Memory] = loaded.map { [.scale: $0.scale.memory, .shift: $0.shift.memory] } ?? [:]
            let reads = [inputs[0]] + (loaded.map { [$0.scale, $0.shift] } ?? [])
            return [Step("\(name): forward", reads: reads, writes: [output] + (scratch.map { [$0] } ?? [])) {
                for n in 0..<x.count {
                    var arguments = affine.merging([.source: x[n], .destination: y[n]]) { a, _ in a }
                    if let scratch { arguments[.scratchpad] = scratch.memory }
                    try primitive.execute(arguments)
                }
            }]
        }
        let saved = (mean: try lowering.buffer(name + " image means", .state, perImage),
                     variance: try lowering.buffer(name + " image variances", .state, perImage),
                     scale: weight != nil ? try lowering.buffer(name + " scale", .state, vector) : nil,
                     shift: bias != nil ? try lowering.buffer(name + " shift", .state, vector) : nil)
        self.saved = saved
        let (means, variances) = (try images(saved.mean, vector: true), try images(saved.variance, vector: true))
        var steps: [Step] = []
        if let scale = saved.scale, let shift = saved.shift, let weight, let bias {
            let view = try PlainView.whole([channels])
            steps.append(Step("\(name): load scale and shift", reads: [], writes: [scale, shift]) {
                try weight.value.copy(view, to: scale.memory)
                try bias.value.copy(view, to: shift.memory)
            })
        }
        let affine: [Argument: Memory] = saved.scale.map { [.scale: $0.memory, .shift: saved.shift!.memory] } ?? [:]
        let reads = [inputs[0]] + [saved.scale, saved.shift].compactMap { $0 }
        steps.append(Step("\(name): forward", reads: reads, writes: [output, saved.mean, saved.variance] + (scratch.map { [$0] } ?? [])) {
            for n in 0..<x.count {
                var arguments = affine.merging([.source: x[n], .destination: y[n], .mean: means[n], .variance: variances[n]]) { a, _ in a }
                if let scratch { arguments[.scratchpad] = scratch.memory }
                try primitive.execute(arguments)
            }
        })
        return steps
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? {
        guard let recomputePrimitive, let saved else { return nil }
        let (x, y) = (try images(inputs[0]), try images(output))
        let (means, variances) = (try images(saved.mean, vector: true), try images(saved.variance, vector: true))
        let affine: [Argument: Memory] = saved.scale.map { [.scale: $0.memory, .shift: saved.shift!.memory] } ?? [:]
        let scratch = try lowering.scratchpad(recomputePrimitive, name)
        let reads = [inputs[0], saved.mean, saved.variance] + [saved.scale, saved.shift].compactMap { $0 }
        return [Step("\(name): forward again", reads: reads, writes: [output] + (scratch.map { [$0] } ?? [])) {
            for n in 0..<x.count {
                var arguments = affine.merging([.source: x[n], .destination: y[n], .mean: means[n], .variance: variances[n]]) { a, _ in a }
                if let scratch { arguments[.scratchpad] = scratch.memory }
                try recomputePrimitive.execute(arguments)
            }
        }]
    }

    // MARK: - Backward

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard let backwardPrimitive, let saved, let input = inputs[0] else { return ([], [nil]) }
        let dx = try lowering.buffer(name + " input gradient", .gradient, outputGradient.descriptor)
        let (x, dy, dxs) = (try images(input), try images(outputGradient), try images(dx))
        let (means, variances) = (try images(saved.mean, vector: true), try images(saved.variance, vector: true))
        let diffScale = saved.scale != nil ? try lowering.buffer(name + " scale gradients", .weights, perImage) : nil
        let diffShift = saved.shift != nil ? try lowering.buffer(name + " shift gradients", .weights, perImage) : nil
        let (diffScales, diffShifts) = (try diffScale.map { try images($0, vector: true) }, try diffShift.map { try images($0, vector: true) })
        let affine: [Argument: Memory] = saved.scale.map { [.scale: $0.memory, .shift: saved.shift!.memory] } ?? [:]
        let scratch = try lowering.scratchpad(backwardPrimitive, name)
        let reads = [input, outputGradient, saved.mean, saved.variance] + [saved.scale, saved.shift].compactMap { $0 }
        let writes = [dx] + [diffScale, diffShift, scratch].compactMap { $0 }
        let step = Step("\(name): backward", reads: reads, writes: writes, inPlace: [(dx, outputGradient)]) {
            for n in 0..<x.count {
                var arguments = affine.merging([.source: x[n], .diffDestination: dy[n], .diffSource: dxs[n], .mean: means[n],
                                                .variance: variances[n]]) { a, _ in a }
                if let diffScales, let diffShifts { (arguments[.diffScale], arguments[.diffShift]) = (diffScales[n], diffShifts[n]) }
                if let scratch { arguments[.scratchpad] = scratch.memory }
                try backwardPrimitive.execute(arguments)
            }
        }
        let (batch, channels) = (batch, channels)
        func summed(_ parameter: Parameter, _ buffer: Buffer) -> GradientSource {
            GradientSource(parameter: parameter, reads: [buffer], alignment: 1) { rows, target in
                let values = buffer.memory.dataPointer.assumingMemoryBound(to: Float.self)
                for c in rows { target[c - rows.lowerBound] = (0..<batch).reduce(0) { $0 + values[$1 * channels + c] } }
            }
        }
        if let weight, let diffScale { sources.append(summed(weight, diffScale)) }
        if let bias, let diffShift { sources.append(summed(bias, diffShift)) }
        return ([step], [wanted[0] ? dx : nil])
    }
}
