import DNNL
import Tensors

/// What `maxPool2dBackward` needs from a training-mode `maxPool2dForward`: which input won each max.
/// Kept by the caller's pullback, never on the layer.
public struct MaxPoolWorkspace {
    let forward: PrimitiveDescriptor
    let indices: Memory
    let inputShape: [Int]
    let outputShape: [Int]
    let kernelSize: Int
    let stride: Int
}

/// The output shape of a `kernelSize`/`stride` max-pooling of `x` (floor on odd sizes).
private func poolOutputShape(_ x: Tensor, kernelSize: Int, stride: Int) throws -> [Int] {
    try requireNCHW(x, "max_pool2d")
    guard kernelSize > 0, stride > 0, x.shape[2] >= kernelSize, x.shape[3] >= kernelSize else {
        throw TensorError("max_pool2d", "input \(x.shape) is smaller than the \(kernelSize)x\(kernelSize) window")
    }
    return [x.shape[0], x.shape[1], (x.shape[2] - kernelSize) / stride + 1, (x.shape[3] - kernelSize) / stride + 1]
}

/// 2-D max pooling without padding (`ceil_mode=False`: odd trailing rows and columns are dropped).
/// Mirrors `torch.nn.functional.max_pool2d(x, kernelSize, stride)`.
/// - Parameters:
///   - x: `(N, C, H, W)`.
///   - training: when true, also returns the workspace that `maxPool2dBackward` needs.
/// - Returns: `(N, C, (H − k)/s + 1, (W − k)/s + 1)` and, in training, the workspace.
public func maxPool2dForward(_ x: Tensor, kernelSize: Int = 2, stride: Int = 2, training: Bool)
    throws -> (Tensor, MaxPoolWorkspace?)
{
    let outputShape = try poolOutputShape(x, kernelSize: kernelSize, stride: stride)
    let pd = try PrimitiveDescriptor.maxPoolingForward(
        training: training, source: x.plainDescriptor(),
        destination: MemoryDescriptor(dims: outputShape, format: .abcd), kernel: [kernelSize, kernelSize],
        geometry: SpatialGeometry(stride: stride, padding: 0))
    let output = try OutputBinding(shape: outputShape, chosen: pd.memoryDescriptor(.destination))
    var arguments: [Argument: Memory] = [.source: try x.memory(), .destination: output.memory]
    var workspace: MaxPoolWorkspace?
    if training {
        let indices = try Memory(pd.memoryDescriptor(.workspace))
        arguments[.workspace] = indices
        workspace = MaxPoolWorkspace(forward: pd, indices: indices, inputShape: x.shape, outputShape: outputShape,
                                     kernelSize: kernelSize, stride: stride)
    }
    try Primitive(pd).execute(arguments)
    return (try output.result(), workspace)
}

/// Gradient of `maxPool2dForward`: each output gradient goes to the input element that was the max.
/// - Parameter dy: `(N, C, H_out, W_out)`.
/// - Returns: `(N, C, H, W)`, zero where no max was taken.
public func maxPool2dBackward(_ dy: Tensor, workspace: MaxPoolWorkspace) throws -> Tensor {
    guard dy.shape == workspace.outputShape else {
        throw TensorError.shapeMismatch("max_pool2d backward", dy.shape, workspace.outputShape,
                                        "output gradient and output")
    }
    let k = workspace.kernelSize
    let pd = try PrimitiveDescriptor.maxPoolingBackward(
        diffSource: MemoryDescriptor(dims: workspace.inputShape, format: .abcd), diffDestination: dy.plainDescriptor(),
        kernel: [k, k], geometry: SpatialGeometry(stride: workspace.stride, padding: 0), hint: workspace.forward)
    let output = try OutputBinding(shape: workspace.inputShape, chosen: pd.memoryDescriptor(.diffSource))
    try Primitive(pd).execute([
        .diffDestination: try dy.memory(), .workspace: workspace.indices, .diffSource: output.memory,
    ])
    return try output.result()
}
