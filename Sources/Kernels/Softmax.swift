import DNNL
import Tensors

/// Softmax over the channel dimension (axis 1) of `(N, C, H, W)` or `(N, C)` logits.
/// Mirrors `torch.softmax(x, dim=1)`.
public func softmaxForward(_ x: Tensor) throws -> Tensor {
    try requireChannels(x)
    let md = try x.plainDescriptor()
    let pd = try PrimitiveDescriptor.softmaxForward(training: true, source: md, destination: md, axis: 1)
    let output = try OutputBinding(shape: x.shape, chosen: pd.memoryDescriptor(.destination))
    try Primitive(pd).execute([.source: try x.memory(), .destination: output.memory])
    return try output.result()
}

/// Gradient of `softmaxForward` from its output `y`: `y · (dy − Σ_c dy·y)`.
public func softmaxBackward(_ dy: Tensor, output y: Tensor) throws -> Tensor {
    try requireChannels(y)
    guard dy.shape == y.shape else {
        throw TensorError.shapeMismatch("softmax backward", dy.shape, y.shape, "output gradient and output")
    }
    let md = try y.plainDescriptor()
    let hint = try PrimitiveDescriptor.softmaxForward(training: true, source: md, destination: md, axis: 1)
    let pd = try PrimitiveDescriptor.softmaxBackward(diffSource: md, diffDestination: md, destination: md, axis: 1,
                                                     hint: hint)
    let output = try OutputBinding(shape: y.shape, chosen: pd.memoryDescriptor(.diffSource))
    try Primitive(pd).execute([.destination: try y.memory(), .diffDestination: try dy.memory(),
                               .diffSource: output.memory])
    return try output.result()
}

private func requireChannels(_ x: Tensor) throws {
    guard (2...4).contains(x.rank), x.shape.allSatisfy({ $0 > 0 }) else {
        throw TensorError("softmax", "expected (N, C, ...) with non-zero sizes, got \(x.shape)")
    }
}
