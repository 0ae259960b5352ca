import DNNL
import Tensors

// Batch normalization over (N, H, W) per channel, as oneDNN primitives. Mirrors
// `torch.nn.functional.batch_norm`. The running-statistics update is the layer's (NN.BatchNorm2d).

/// The statistics a training-mode forward used, for the backward pass and the running-stat update.
public struct BatchStatistics {
    /// Per-channel batch mean, `(C)`.
    public let mean: Tensor
    /// Per-channel biased batch variance (divided by N·H·W), `(C)`.
    public let variance: Tensor
}

/// Validates the per-channel vectors of a batch norm over `x`.
private func checkChannelVectors(_ x: Tensor, _ vectors: [(String, Tensor?)], _ operation: String) throws {
    try requireNCHW(x, operation)
    for (name, vector) in vectors {
        if let vector, vector.shape != [x.shape[1]] {
            throw TensorError(operation, "\(name) \(vector.shape) does not match \(x.shape[1]) channels of input \(x.shape)")
        }
    }
}

/// Flags for optional affine parameters.
private func affineFlags(weight: Tensor?, bias: Tensor?) -> BatchNormalizationFlags {
    var flags: BatchNormalizationFlags = []
    if weight != nil { flags.insert(.useScale) }
    if bias != nil { flags.insert(.useShift) }
    return flags
}

/// Training-mode batch norm: normalises with the batch's own mean and biased variance.
/// - Parameters:
///   - x: `(N, C, H, W)`.
///   - weight, bias: `(C)` affine scale and shift, or nil.
/// - Returns: `y` `(N, C, H, W)` and the batch statistics.
public func batchNorm2dForwardTraining(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5)
    throws -> (Tensor, BatchStatistics)
{
    try checkChannelVectors(x, [("weight", weight), ("bias", bias)], "batch_norm2d")
    let pd = try PrimitiveDescriptor.batchNormalizationForward(
        training: true, data: x.plainDescriptor(), epsilon: epsilon, flags: affineFlags(weight: weight, bias: bias))
    let output = try OutputBinding(shape: x.shape, chosen: pd.memoryDescriptor(.destination))
    let mean = Tensor.empty(shape: [x.shape[1]])
    let variance = Tensor.empty(shape: [x.shape[1]])
    var arguments: [Argument: Memory] = [
        .source: try x.memory(), .destination: output.memory, .mean: try mean.memory(), .variance: try variance.memory(),
    ]
    if let weight { arguments[.scale] = try weight.memory() }
    if let bias { arguments[.shift] = try bias.memory() }
    try Primitive(pd).execute(arguments)
    return (try output.result(), BatchStatistics(mean: mean, variance: variance))
}

/// Eval-mode batch norm: `y = (x − mean) / sqrt(variance + ε) · weight + bias` with given statistics.
/// - Parameters:
///   - mean, variance: `(C)`, typically the running statistics.
public func batchNorm2dForwardInference(
    _ x: Tensor, weight: Tensor?, bias: Tensor?, mean: Tensor, variance: Tensor, epsilon: Float = 1e-5
) throws -> Tensor {
    try checkChannelVectors(
        x, [("weight", weight), ("bias", bias), ("running_mean", mean), ("running_var", variance)], "batch_norm2d")
    let pd = try PrimitiveDescriptor.batchNormalizationForward(
        training: false, data: x.plainDescriptor(), epsilon: epsilon,
        flags: affineFlags(weight: weight, bias: bias).union(.useGlobalStatistics))
    let output = try OutputBinding(shape: x.shape, chosen: pd.memoryDescriptor(.destination))
    var arguments: [Argument: Memory] = [
        .source: try x.memory(), .destination: output.memory, .mean: try mean.memory(), .variance: try variance.memory(),
    ]
    if let weight { arguments[.scale] = try weight.memory() }
    if let bias { arguments[.shift] = try bias.memory() }
    try Primitive(pd).execute(arguments)
    return try output.result()
}

/// Gradients of batch norm. With `statistics` from a training-mode forward the input gradient includes the
/// dependence of the batch statistics on `x`; with `useGlobalStatistics` (eval mode) `mean`/`variance` are
/// constants.
/// - Parameters:
///   - dy: `(N, C, H, W)`.
///   - x: the forward input.
///   - mean, variance: the statistics the forward normalised with.
/// - Returns: `dx` `(N, C, H, W)`, and `(C)` gradients for weight and bias when those were given.
public func batchNorm2dBackward(
    _ dy: Tensor, input x: Tensor, weight: Tensor?, bias: Tensor?, mean: Tensor, variance: Tensor,
    useGlobalStatistics: Bool, epsilon: Float = 1e-5
) throws -> (input: Tensor, weight: Tensor?, bias: Tensor?) {
    try checkChannelVectors(x, [("weight", weight), ("mean", mean), ("variance", variance)], "batch_norm2d backward")
    guard dy.shape == x.shape else {
        throw TensorError.shapeMismatch("batch_norm2d backward", dy.shape, x.shape, "output gradient and input")
    }
    var flags = affineFlags(weight: weight, bias: bias)
    if useGlobalStatistics { flags.insert(.useGlobalStatistics) }
    let data = try x.plainDescriptor()
    let hint = try PrimitiveDescriptor.batchNormalizationForward(training: true, data: data, epsilon: epsilon, flags: flags)
    let pd = try PrimitiveDescriptor.batchNormalizationBackward(
        diffData: data, data: data, epsilon: epsilon, flags: flags, hint: hint)
    let dx = try OutputBinding(shape: x.shape, chosen: pd.memoryDescriptor(.diffSource))
    var arguments: [Argument: Memory] = [
        .source: try x.memory(), .diffDestination: try dy.memory(), .mean: try mean.memory(),
        .variance: try variance.memory(), .diffSource: dx.memory,
    ]
    let dWeight = weight.map { _ in Tensor.empty(shape: [x.shape[1]]) }
    let dBias = bias.map { _ in Tensor.empty(shape: [x.shape[1]]) }
    if let weight {
        arguments[.scale] = try weight.memory()
        arguments[.diffScale] = try dWeight!.memory()
    }
    if let bias {
        // oneDNN 2.6 lists the shift as an input of backward too (it reads it only with fused ReLU).
        arguments[.shift] = try bias.memory()
        arguments[.diffShift] = try dBias!.memory()
    }
    try Primitive(pd).execute(arguments)
    return (try dx.result(), dWeight, dBias)
}
