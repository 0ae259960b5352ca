import DNNL
import Tensors

// Elementwise activations as oneDNN eltwise primitives on plain tensors of any rank up to 4.

/// `max(x, 0)`, elementwise. Mirrors `torch.relu`.
public func reluForward(_ x: Tensor) throws -> Tensor {
    try eltwiseForward(.relu, x)
}

/// Gradient of `reluForward`: `dy` where the forward input `x` was positive, else 0.
public func reluBackward(_ dy: Tensor, input x: Tensor) throws -> Tensor {
    try eltwiseBackward(.relu, dy, data: x)
}

/// `1 / (1 + exp(−x))`, elementwise. Mirrors `torch.sigmoid`.
public func sigmoidForward(_ x: Tensor) throws -> Tensor {
    try eltwiseForward(.logistic, x)
}

/// Gradient of `sigmoidForward` from its output `y`: `dy · y · (1 − y)`.
public func sigmoidBackward(_ dy: Tensor, output y: Tensor) throws -> Tensor {
    try eltwiseBackward(.logistic, dy, data: y)
}

private func eltwiseForward(_ algorithm: EltwiseAlgorithm, _ x: Tensor) throws -> Tensor {
    guard x.count > 0 else { return x }
    let pd = try PrimitiveDescriptor.eltwiseForward(algorithm, training: true, data: x.plainDescriptor())
    let output = try OutputBinding(shape: x.shape, chosen: pd.memoryDescriptor(.destination))
    try Primitive(pd).execute([.source: try x.memory(), .destination: output.memory])
    return try output.result()
}

private func eltwiseBackward(_ algorithm: EltwiseAlgorithm, _ dy: Tensor, data: Tensor) throws -> Tensor {
    guard dy.shape == data.shape else {
        throw TensorError.shapeMismatch(algorithm == .relu ? "relu backward" : "sigmoid backward", dy.shape,
                                        data.shape, "output gradient and forward tensor")
    }
    guard dy.count > 0 else { return dy }
    let md = try data.plainDescriptor()
    let hint = try PrimitiveDescriptor.eltwiseForward(algorithm, training: true, data: md)
    let pd = try PrimitiveDescriptor.eltwiseBackward(algorithm, diffData: md, data: md, hint: hint)
    let output = try OutputBinding(shape: dy.shape, chosen: pd.memoryDescriptor(.diffSource))
    let dataArgument: Argument = algorithm == .relu ? .source : .destination
    try Primitive(pd).execute([dataArgument: try data.memory(), .diffDestination: try dy.memory(),
                               .diffSource: output.memory])
    return try output.result()
}
