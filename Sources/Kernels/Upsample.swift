import DNNL
import Tensors

// Spatial resizing (`F.interpolate`): nearest, and bilinear with or without aligned corners. oneDNN's resampling
// primitive only implements half-pixel centres, and its nearest rounds where PyTorch floors, so the interpolation is
// written as what it is, a separable linear map, and run as two oneDNN matmuls: along W with `A_w`, then along H with
// `A_h`, where `A` holds each output position's interpolation weights. The backward pass applies the transposed
// matrices.

/// How `F.interpolate` maps output positions to input positions.
public enum Interpolation: Sendable, Equatable {
    /// `src = min(⌊dst · in/out⌋, in − 1)` (PyTorch's legacy `nearest`).
    case nearest
    /// Linear with the corner pixels of input and output aligned: `src = dst · (in − 1)/(out − 1)`.
    case linearAlignedCorners
    /// Linear with half-pixel centres (`align_corners=False`): `src = max((dst + ½)·in/out − ½, 0)`.
    case linear
}

/// The `(output, input)` interpolation matrix of 1-D resampling, computed in float32 as PyTorch does.
func interpolationMatrix(input: Int, output: Int, _ mode: Interpolation) -> [Float] {
    var matrix = [Float](repeating: 0, count: output * input)
    for o in 0..<output {
        let source: Float
        switch mode {
        case .nearest:
            let i = min(Int((Float(o) * (Float(input) / Float(output))).rounded(.down)), input - 1)
            matrix[o * input + i] = 1
            continue
        case .linearAlignedCorners:
            source = output > 1 ? Float(input - 1) / Float(output - 1) * Float(o) : 0
        case .linear:
            source = max((Float(o) + 0.5) * (Float(input) / Float(output)) - 0.5, 0)
        }
        let i0 = min(Int(source), input - 1)
        let lambda = source - Float(i0)
        let i1 = i0 < input - 1 ? i0 + 1 : i0
        matrix[o * input + i0] += 1 - lambda
        matrix[o * input + i1] += lambda
    }
    return matrix
}

/// The matrix as a tensor, optionally transposed (`(input, output)`), with a leading batch dimension of 1.
private func interpolationTensor(input: Int, output: Int, _ mode: Interpolation, transposed: Bool) throws -> Tensor {
    let m = interpolationMatrix(input: input, output: output, mode)
    guard transposed else { return try Tensor(shape: [1, output, input], scalars: m) }
    return Tensor(shape: [1, input, output]) { m[($0 % output) * input + $0 / output] }
}

/// Batched `a · b` through oneDNN matmul; a batch dimension of 1 broadcasts.
private func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let shape = [max(a.shape[0], b.shape[0]), a.shape[1], b.shape[2]]
    let pd = try PrimitiveDescriptor.matmul(
        source: a.plainDescriptor(), weights: b.plainDescriptor(), destination: MemoryDescriptor(dims: shape, format: .abc))
    let output = try OutputBinding(shape: shape, chosen: pd.memoryDescriptor(.destination))
    try Primitive(pd).execute([.source: try a.memory(), .weights: try b.memory(), .destination: output.memory])
    return try output.result()
}

/// Bilinear up-sampling by an integer `scale` with aligned corners. Mirrors
/// `torch.nn.functional.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=True)`.
/// - Parameter x: `(N, C, H, W)`.
/// - Returns: `(N, C, scale·H, scale·W)`.
public func upsampleBilinear2dForward(_ x: Tensor, scale: Int = 2) throws -> Tensor {
    try requireNCHW(x, "upsample_bilinear2d")
    guard scale > 0 else { throw TensorError("upsample_bilinear2d", "scale \(scale) must be positive") }
    return try interpolate2dForward(x, size: [scale * x.shape[2], scale * x.shape[3]], .linearAlignedCorners)
}

/// Gradient of `upsampleBilinear2dForward` with respect to its input of shape `inputShape`.
/// - Parameter dy: `(N, C, scale·H, scale·W)`.
public func upsampleBilinear2dBackward(_ dy: Tensor, inputShape: [Int], scale: Int = 2) throws -> Tensor {
    guard inputShape.count == 4, scale > 0,
          dy.shape == [inputShape[0], inputShape[1], scale * inputShape[2], scale * inputShape[3]] else {
        throw TensorError("upsample_bilinear2d backward", "gradient \(dy.shape) is not input \(inputShape) scaled by \(scale)")
    }
    return try interpolate2dBackward(dy, inputShape: inputShape, .linearAlignedCorners)
}

/// Resizes the spatial dimensions to `size` `[H', W']`. Mirrors `torch.nn.functional.interpolate(x, size=size, mode=...)`
/// with `mode` `nearest`, or `bilinear` with `align_corners` true or false.
/// - Parameter x: `(N, C, H, W)`.
/// - Returns: `(N, C, H', W')`.
public func interpolate2dForward(_ x: Tensor, size: [Int], _ mode: Interpolation) throws -> Tensor {
    try requireNCHW(x, "interpolate")
    guard size.count == 2, size.allSatisfy({ $0 > 0 }) else { throw TensorError("interpolate", "output size \(size)") }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = (size[0], size[1])
    // Along W: (1, N·C·H, W) · (1, W, OW).
    let rows = try matmul(x.reshaped([1, n * c * h, w]), interpolationTensor(input: w, output: ow, mode, transposed: true))
    // Along H: (1, OH, H) · (N·C, H, OW), the matrix broadcast over the batch.
    let y = try matmul(interpolationTensor(input: h, output: oh, mode, transposed: false), rows.reshaped([n * c, h, ow]))
    return try y.reshaped([n, c, oh, ow])
}

/// Gradient of `interpolate2dForward` with respect to its input of shape `inputShape`.
/// - Parameter dy: `(N, C, H', W')`.
public func interpolate2dBackward(_ dy: Tensor, inputShape: [Int], _ mode: Interpolation) throws -> Tensor {
    guard inputShape.count == 4, dy.rank == 4, dy.shape[0] == inputShape[0], dy.shape[1] == inputShape[1] else {
        throw TensorError("interpolate backward", "gradient \(dy.shape) does not fit input \(inputShape)")
    }
    let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
    let (oh, ow) = (dy.shape[2], dy.shape[3])
    // Transposed H step: (1, H, OH) · (N·C, OH, OW).
    let rows = try matmul(interpolationTensor(input: h, output: oh, mode, transposed: true), dy.reshaped([n * c, oh, ow]))
    // Transposed W step: (1, N·C·H, OW) · (1, OW, W).
    let dx = try matmul(rows.reshaped([1, n * c * h, ow]),
                        interpolationTensor(input: w, output: ow, mode, transposed: false).reshaped([1, ow, w]))
    return try dx.reshaped(inputShape)
}
