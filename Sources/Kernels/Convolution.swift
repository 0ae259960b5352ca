import DNNL
import Tensors

// Forward and backward of `torch.nn.functional.conv2d` and `conv_transpose2d` (groups 1, dilation 1,
// output_padding 0) as oneDNN convolution / deconvolution primitives. Weights stay in PyTorch's layout;
// oneDNN may reorder them into a blocked layout for the call.

/// 2-D convolution. Mirrors `torch.nn.functional.conv2d`.
/// - Parameters:
///   - x: `(N, C_in, H, W)`.
///   - weight: `(C_out, C_in, kH, kW)`.
///   - bias: `(C_out)` or nil.
/// - Returns: `(N, C_out, (H + 2·padding − kH)/stride + 1, (W + 2·padding − kW)/stride + 1)`.
public func conv2dForward(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0)
    throws -> Tensor
{
    let problem = try ConvolutionProblem(.convolution, inputShape: x.shape, weightShape: weight.shape,
                                         stride: stride, padding: padding)
    return try convolutionForward(problem, x, weight: weight, bias: bias)
}

/// 2-D transposed convolution. Mirrors `torch.nn.functional.conv_transpose2d`.
/// - Parameters:
///   - x: `(N, C_in, H, W)`.
///   - weight: `(C_in, C_out, kH, kW)` (PyTorch's `ConvTranspose2d.weight` layout).
///   - bias: `(C_out)` or nil.
/// - Returns: `(N, C_out, (H − 1)·stride − 2·padding + kH, (W − 1)·stride − 2·padding + kW)`.
public func convTranspose2dForward(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0)
    throws -> Tensor
{
    let problem = try ConvolutionProblem(.transposed, inputShape: x.shape, weightShape: weight.shape,
                                         stride: stride, padding: padding)
    return try convolutionForward(problem, x, weight: weight, bias: bias)
}

/// Gradient of `conv2dForward` with respect to its input `x` of shape `inputShape`.
/// - Parameter dy: `(N, C_out, H_out, W_out)`, the gradient of the output.
public func conv2dBackwardData(_ dy: Tensor, weight: Tensor, inputShape: [Int], stride: Int = 1, padding: Int = 0)
    throws -> Tensor
{
    let problem = try ConvolutionProblem(.convolution, inputShape: inputShape, weightShape: weight.shape,
                                         stride: stride, padding: padding)
    return try convolutionBackwardData(problem, dy, weight: weight)
}

/// Gradient of `convTranspose2dForward` with respect to its input `x` of shape `inputShape`.
public func convTranspose2dBackwardData(
    _ dy: Tensor, weight: Tensor, inputShape: [Int], stride: Int = 1, padding: Int = 0
) throws -> Tensor {
    let problem = try ConvolutionProblem(.transposed, inputShape: inputShape, weightShape: weight.shape,
                                         stride: stride, padding: padding)
    return try convolutionBackwardData(problem, dy, weight: weight)
}

/// Gradients of `conv2dForward` with respect to the weight `(C_out, C_in, kH, kW)` and, when
/// `withBias`, the bias `(C_out)`.
public func conv2dBackwardWeights(
    _ dy: Tensor, input x: Tensor, weightShape: [Int], withBias: Bool, stride: Int = 1, padding: Int = 0
) throws -> (weight: Tensor, bias: Tensor?) {
    let problem = try ConvolutionProblem(.convolution, inputShape: x.shape, weightShape: weightShape,
                                         stride: stride, padding: padding)
    return try convolutionBackwardWeights(problem, dy, input: x, withBias: withBias)
}

/// Gradients of `convTranspose2dForward` with respect to the weight `(C_in, C_out, kH, kW)` and,
/// when `withBias`, the bias `(C_out)`.
public func convTranspose2dBackwardWeights(
    _ dy: Tensor, input x: Tensor, weightShape: [Int], withBias: Bool, stride: Int = 1, padding: Int = 0
) throws -> (weight: Tensor, bias: Tensor?) {
    let problem = try ConvolutionProblem(.transposed, inputShape: x.shape, weightShape: weightShape,
                                         stride: stride, padding: padding)
    return try convolutionBackwardWeights(problem, dy, input: x, withBias: withBias)
}

// MARK: - Shared implementation

private func convolutionForward(_ problem: ConvolutionProblem, _ x: Tensor, weight: Tensor, bias: Tensor?)
    throws -> Tensor
{
    if let bias, bias.shape != [problem.outputChannels] {
        throw TensorError(problem.operation, "bias \(bias.shape) does not match \(problem.outputChannels) output channels")
    }
    let pd = try problem.forwardDescriptor(training: false, bias: bias != nil)
    var arguments: [Argument: Memory] = [
        .source: try inputMemory(x, wanted: pd.memoryDescriptor(.source)),
        .weights: try inputMemory(weight, wanted: pd.memoryDescriptor(.weights),
                                  user: problem.userWeightDescriptor()),
    ]
    if let bias { arguments[.bias] = try inputMemory(bias, wanted: pd.memoryDescriptor(.weights, index: 1)) }
    let output = try OutputBinding(shape: problem.outputShape, chosen: pd.memoryDescriptor(.destination))
    arguments[.destination] = output.memory
    try Primitive(pd).execute(arguments)
    return try output.result()
}

private func convolutionBackwardData(_ problem: ConvolutionProblem, _ dy: Tensor, weight: Tensor) throws -> Tensor {
    try problem.checkOutputGradient(dy)
    let hint = try problem.forwardDescriptor(training: true, bias: false)
    let pd = try PrimitiveDescriptor.convolutionBackwardData(
        problem.kind, diffSource: MemoryDescriptor(dims: problem.inputShape, format: .any),
        weights: MemoryDescriptor(dims: problem.logicalWeightDims, format: .any),
        diffDestination: MemoryDescriptor(dims: problem.outputShape, format: .any),
        geometry: problem.geometry, hint: hint)
    let output = try OutputBinding(shape: problem.inputShape, chosen: pd.memoryDescriptor(.diffSource))
    try Primitive(pd).execute([
        .diffDestination: try inputMemory(dy, wanted: pd.memoryDescriptor(.diffDestination)),
        .weights: try inputMemory(weight, wanted: pd.memoryDescriptor(.weights), user: problem.userWeightDescriptor()),
        .diffSource: output.memory,
    ])
    return try output.result()
}

private func convolutionBackwardWeights(_ problem: ConvolutionProblem, _ dy: Tensor, input x: Tensor, withBias: Bool)
    throws -> (weight: Tensor, bias: Tensor?)
{
    try problem.checkOutputGradient(dy)
    let hint = try problem.forwardDescriptor(training: true, bias: withBias)
    let pd = try PrimitiveDescriptor.convolutionBackwardWeights(
        problem.kind, source: MemoryDescriptor(dims: problem.inputShape, format: .any),
        diffWeights: MemoryDescriptor(dims: problem.logicalWeightDims, format: .any),
        diffBias: withBias ? MemoryDescriptor(dims: [problem.outputChannels], format: .a) : nil,
        diffDestination: MemoryDescriptor(dims: problem.outputShape, format: .any),
        geometry: problem.geometry, hint: hint)
    let dWeight = try OutputBinding(shape: problem.weightShape, chosen: pd.memoryDescriptor(.diffWeights),
                                    user: problem.userWeightDescriptor())
    var arguments: [Argument: Memory] = [
        .source: try inputMemory(x, wanted: pd.memoryDescriptor(.source)),
        .diffDestination: try inputMemory(dy, wanted: pd.memoryDescriptor(.diffDestination)),
        .diffWeights: dWeight.memory,
    ]
    let dBias = withBias
        ? try OutputBinding(shape: [problem.outputChannels], chosen: pd.memoryDescriptor(.diffWeights, index: 1))
        : nil
    if let dBias { arguments[.diffBias] = dBias.memory }
    try Primitive(pd).execute(arguments)
    return (try dWeight.result(), try dBias?.result())
}
