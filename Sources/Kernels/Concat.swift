import DNNL
import Tensors

/// Concatenates `(N, C_i, H, W)` tensors along channels into `(N, ΣC_i, H, W)`.
/// Mirrors `torch.cat(tensors, dim=1)`.
/// - Throws: `TensorError` naming both shapes when batch or spatial sizes differ.
public func concatForward(_ tensors: [Tensor]) throws -> Tensor {
    guard let first = tensors.first else { throw TensorError("concat", "no tensors to concatenate") }
    for tensor in tensors {
        try requireNCHW(tensor, "concat")
        guard tensor.shape[0] == first.shape[0], tensor.shape[2...] == first.shape[2...] else {
            throw TensorError("concat", "inputs \(first.shape) and \(tensor.shape) differ outside the channel dimension")
        }
    }
    let outputShape = [first.shape[0], tensors.reduce(0) { $0 + $1.shape[1] }, first.shape[2], first.shape[3]]
    let pd = try PrimitiveDescriptor.concat(
        sources: tensors.map { try $0.plainDescriptor() }, axis: 1,
        destination: MemoryDescriptor(dims: outputShape, format: .abcd))
    let output = try OutputBinding(shape: outputShape, chosen: pd.memoryDescriptor(.destination))
    var arguments: [Argument: Memory] = [.destination: output.memory]
    for (i, tensor) in tensors.enumerated() { arguments[.multipleSource(i)] = try tensor.memory() }
    try Primitive(pd).execute(arguments)
    return try output.result()
}

/// Gradient of `concatForward`: splits `(N, ΣC_i, H, W)` back into `(N, C_i, H, W)` parts.
/// - Parameter channels: `C_i` of each forward input, in order.
public func concatBackward(_ dy: Tensor, channels: [Int]) throws -> [Tensor] {
    try requireNCHW(dy, "concat backward")
    guard channels.allSatisfy({ $0 > 0 }), channels.reduce(0, +) == dy.shape[1] else {
        throw TensorError("concat backward", "channel split \(channels) does not add up to gradient \(dy.shape)")
    }
    let (n, plane) = (dy.shape[0], dy.shape[2] * dy.shape[3])
    var parts: [Tensor] = []
    var offset = 0
    dy.withUnsafeBufferPointer { source in
        for c in channels {
            var part = Tensor.empty(shape: [n, c, dy.shape[2], dy.shape[3]])
            part.withUnsafeMutableBufferPointer { target in
                for batch in 0..<n {
                    let from = source.baseAddress! + (batch * dy.shape[1] + offset) * plane
                    (target.baseAddress! + batch * c * plane).update(from: from, count: c * plane)
                }
            }
            parts.append(part)
            offset += c
        }
    }
    return parts
}
