import DNNL
import NN
import Tensors

/// Training-mode batch norm fused with the following ReLU (`dnnl_fuse_norm_relu`), over an activation in the
/// engine's layout. Statistics, scale and shift are float32 whatever the activation type. Mirrors
/// `BatchNorm2d` + `ReLU` in PyTorch's training mode; the running-statistics update is `updateRunningStatistics`.
///
/// Backward may run in place (`diffSource` the same memory as `diffDestination`), and the output can be made
/// again from the input and the last batch statistics (`recompute`), so a training network need not keep it.
final class BatchNormReLUStep {
    let shape: [Int]
    let forwardPrimitive: Primitive
    let backwardPrimitive: Primitive
    /// The same normalization with the stored batch statistics (global-statistics inference forward).
    let recomputePrimitive: Primitive
    let mean, variance, scale, shift, diffScale, diffShift: Memory
    /// Which outputs ReLU zeroed, for backward.
    let workspace: Memory

    init(shape: [Int], data: MemoryDescriptor, context: PlanContext) throws {
        self.shape = shape
        let flags: BatchNormalizationFlags = [.useScale, .useShift, .fuseReLU]
        let forward = try PrimitiveDescriptor.batchNormalizationForward(
            training: true, data: data, epsilon: 1e-5, flags: flags, attributes: try context.attributes())
        let backward = try PrimitiveDescriptor.batchNormalizationBackward(
            diffData: data, data: data, epsilon: 1e-5, flags: flags, hint: forward, attributes: try context.attributes())
        forwardPrimitive = try context.primitive(forward)
        backwardPrimitive = try context.primitive(backward)
        recomputePrimitive = try context.primitive(.batchNormalizationForward(
            training: false, data: data, epsilon: 1e-5, flags: flags.union(.useGlobalStatistics),
            attributes: try context.attributes()))
        let vector = try MemoryDescriptor(dims: [shape[1]], format: .a)
        (mean, variance, scale, shift) = (try Memory(vector), try Memory(vector), try Memory(vector), try Memory(vector))
        (diffScale, diffShift) = (try Memory(vector), try Memory(vector))
        workspace = try Memory(forward.memoryDescriptor(.workspace))
    }

    /// Copies the layer's affine parameters in.
    func loadParameters(_ norm: BatchNorm2d) throws {
        let view = try PlainView.whole([shape[1]])
        try norm.weight.value.copy(view, to: scale)
        try norm.bias.value.copy(view, to: shift)
    }

    func forward(_ source: Memory, _ destination: Memory) throws {
        try forwardPrimitive.execute([
            .source: source, .destination: destination, .mean: mean, .variance: variance, .scale: scale, .shift: shift,
            .workspace: workspace,
        ])
    }

    /// Writes the last `forward`'s output again from its `source`: `relu(γ·(x − μ)/√(σ² + ε) + β)` with the
    /// batch mean and variance that forward computed.
    func recompute(_ source: Memory, _ destination: Memory) throws {
        try recomputePrimitive.execute([
            .source: source, .destination: destination, .mean: mean, .variance: variance, .scale: scale, .shift: shift,
        ])
    }

    /// PyTorch's running-statistics update from this step's batch statistics (momentum, unbiased variance).
    func updateRunningStatistics(_ norm: BatchNorm2d) throws {
        let count = shape[0] * shape[2] * shape[3]
        guard count > 1 else {
            throw TensorError("batch_norm2d", "training needs more than 1 value per channel, got input \(shape)")
        }
        let c = shape[1]
        let batchMean = mean.dataPointer.assumingMemoryBound(to: Float.self)
        let batchVariance = variance.dataPointer.assumingMemoryBound(to: Float.self)
        let (m, unbiased) = (norm.momentum, Float(count) / Float(count - 1))
        norm.runningMean.value.withUnsafeMutableBufferPointer { running in
            for i in 0..<c { running[i] = (1 - m) * running[i] + m * batchMean[i] }
        }
        norm.runningVar.value.withUnsafeMutableBufferPointer { running in
            for i in 0..<c { running[i] = (1 - m) * running[i] + m * unbiased * batchVariance[i] }
        }
        norm.numBatchesTracked.value = norm.numBatchesTracked.value.map { $0 + 1 }
    }

    /// `diffSource` may be `diffDestination` (in place).
    func backward(_ source: Memory, _ diffDestination: Memory, _ diffSource: Memory) throws {
        try backwardPrimitive.execute([
            .source: source, .diffDestination: diffDestination, .diffSource: diffSource, .mean: mean, .variance: variance,
            .scale: scale, .shift: shift, .diffScale: diffScale, .diffShift: diffShift, .workspace: workspace,
        ])
    }

    /// Hands the scale and shift gradients of the last backward to `sink`.
    func deliverGradients(_ norm: BatchNorm2d, to sink: GradientSink) throws {
        try sink.deliver(norm.weight, copying: diffScale)
        try sink.deliver(norm.bias, copying: diffShift)
    }
}

/// The gradient of a ReLU fused into a convolution as a post-op, computed from the convolution's output
/// (`eltwise_relu_use_dst_for_bwd`), for networks without batch norm.
final class ReLUGradientStep {
    let primitive: Primitive

    init(data: MemoryDescriptor, context: PlanContext) throws {
        let hint = try PrimitiveDescriptor.eltwiseForward(.reluUsingOutput, training: true, data: data)
        primitive = try context.primitive(.eltwiseBackward(
            .reluUsingOutput, diffData: data, data: data, hint: hint, attributes: try context.attributes()))
    }

    /// `diffSource = diffDestination` where `output > 0`, else 0.
    func callAsFunction(output: Memory, _ diffDestination: Memory, _ diffSource: Memory) throws {
        try primitive.execute([.destination: output, .diffDestination: diffDestination, .diffSource: diffSource])
    }
}

/// `a += b` on two equally laid-out activations (the two gradients of a skip connection).
final class AddStep {
    let primitive: Primitive

    init(data: MemoryDescriptor, context: PlanContext) throws {
        primitive = try context.primitive(.binaryAdd(
            source0: data, source1: data, destination: data, attributes: try context.attributes()))
    }

    func callAsFunction(_ accumulator: Memory, plus other: Memory) throws {
        try primitive.execute([.source: accumulator, .source1: other, .destination: accumulator])
    }
}
