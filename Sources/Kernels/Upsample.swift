import DNNL
import Tensors

// Bilinear up-sampling with `align_corners=True` (milesial's `nn.Upsample(scale_factor=2, mode="bilinear",
// align_corners=True)`). oneDNN's resampling primitive only implements half-pixel centres
// (`align_corners=False`), so the interpolation is written as what it is, a separable linear map, and run as
// two oneDNN matmuls: along W with `A_w`, then along H with `A_h`, where `A` holds the two interpolation
// weights of each output position. The backward pass applies the transposed matrices.

/// The `(output, input)` interpolation matrix of 1-D linear resampling with aligned corners, computed in
/// float32 as PyTorch does: `src = o · (in − 1)/(out − 1)`, weights `1 − λ` and `λ` on `⌊src⌋` and the next.
func alignedCornersInterpolation(input: Int, output: Int) -> [Float] {
    var matrix = [Float](repeating: 0, count: output * input)
    let scale: Float = output > 1 ? Float(input - 1) / Float(output - 1) : 0
    for o in 0..<output {
        let source = scale * Float(o)
        let i0 = Int(source)
        let lambda = source - Float(i0)
        let i1 = i0 < input - 1 ? i0 + 1 : i0
        matrix[o * input + i0] += 1 - lambda
        matrix[o * input + i1] += lambda
    }
    return matrix
}

/// The matrix as a tensor, optionally transposed (`(input, output)`), with a leading batch dimension of 1.
private func interpolationTensor(input: Int, output: Int, transposed: Bool) throws -> Tensor {
    let m = alignedCornersInterpolation(input: input, output: output)
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
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    // Along W: (1, N·C·H, W) · (1, W, OW).
    let rows = try matmul(x.reshaped([1, n * c * h, w]),
                          interpolationTensor(input: w, output: scale * w, transposed: true))
    // Along H: (1, OH, H) · (N·C, H, OW), the matrix broadcast over the batch.
    let y = try matmul(interpolationTensor(input: h, output: scale * h, transposed: false),
                       rows.reshaped([n * c, h, scale * w]))
    return try y.reshaped([n, c, scale * h, scale * w])
}

/// Gradient of `upsampleBilinear2dForward` with respect to its input of shape `inputShape`.
/// - Parameter dy: `(N, C, scale·H, scale·W)`.
public func upsampleBilinear2dBackward(_ dy: Tensor, inputShape: [Int], scale: Int = 2) throws -> Tensor {
    guard inputShape.count == 4, scale > 0,
        dy.shape == [inputShape[0], inputShape[1], scale * inputShape[2], scale * inputShape[3]]
    else {
        throw TensorError("upsample_bilinear2d backward", "gradient \(dy.shape) is not input \(inputShape) scaled by \(scale)")
    }
    let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
    // Transposed H step: (1, H, OH) · (N·C, OH, OW).
    let rows = try matmul(interpolationTensor(input: h, output: scale * h, transposed: true),
                          dy.reshaped([n * c, scale * h, scale * w]))
    // Transposed W step: (1, N·C·H, OW) · (1, OW, W).
    let dx = try matmul(rows.reshaped([1, n * c * h, scale * w]),
                        interpolationTensor(input: w, output: scale * w, transposed: false).reshaped([1, scale * w, w]))
    return try dx.reshaped(inputShape)
}
