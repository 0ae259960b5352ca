import Tensors

// Zero padding and center cropping of the last two (spatial) dimensions. Pure data movement: each
// output row is a copy of part of an input row, or zeros. Cropping is padding by negative amounts, and
// each operation's gradient is the other one.

/// Amounts added (positive) or removed (negative) at each side of the spatial dimensions.
/// Ordered as `torch.nn.functional.pad`'s `[left, right, top, bottom]`.
public struct Padding2d: Equatable, Sendable {
    public var left, right, top, bottom: Int

    public init(left: Int, right: Int, top: Int, bottom: Int) {
        (self.left, self.right, self.top, self.bottom) = (left, right, top, bottom)
    }

    /// The opposite amounts: padding's adjoint is cropping by the same amounts, and vice versa.
    public var negated: Padding2d { Padding2d(left: -left, right: -right, top: -top, bottom: -bottom) }
}

/// Zero-pads (or, with negative amounts, crops) the last two dimensions of `x` (rank ≥ 2).
/// Mirrors `torch.nn.functional.pad(x, [left, right, top, bottom])` with `mode="constant"`, value 0.
/// - Returns: `(..., H + top + bottom, W + left + right)`.
/// - Throws: `TensorError` when the result would have no rows or columns.
public func pad2dForward(_ x: Tensor, _ padding: Padding2d) throws -> Tensor {
    guard x.rank >= 2 else { throw TensorError("pad", "input must have at least 2 dimensions, got \(x.shape)") }
    let (h, w) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
    let (outH, outW) = (h + padding.top + padding.bottom, w + padding.left + padding.right)
    guard outH > 0, outW > 0 else {
        throw TensorError("pad", "padding \(padding) of input \(x.shape) leaves an empty \(outH)x\(outW) output")
    }
    let planes = x.shape.dropLast(2).reduce(1, *)
    var y = Tensor(shape: Array(x.shape.dropLast(2)) + [outH, outW])
    // Columns of the output that come from the input, and the input column they start at.
    let firstColumn = max(padding.left, 0)
    let lastColumn = min(outW, w + padding.left)
    guard firstColumn < lastColumn else { return y }
    let sourceColumn = firstColumn - padding.left
    x.withUnsafeBufferPointer { source in
        y.withUnsafeMutableBufferPointer { target in
            for plane in 0..<planes {
                for row in max(padding.top, 0)..<min(outH, h + padding.top) {
                    let from = source.baseAddress! + (plane * h + row - padding.top) * w + sourceColumn
                    let to = target.baseAddress! + (plane * outH + row) * outW + firstColumn
                    to.update(from: from, count: lastColumn - firstColumn)
                }
            }
        }
    }
    return y
}

/// Gradient of `pad2dForward` with respect to its input: the gradient cropped back (or padded back).
/// - Parameters:
///   - dy: `(..., H + top + bottom, W + left + right)`.
///   - inputShape: the forward input's shape.
public func pad2dBackward(_ dy: Tensor, _ padding: Padding2d, inputShape: [Int]) throws -> Tensor {
    guard inputShape.count >= 2, dy.rank == inputShape.count,
        dy.shape.dropLast(2) == inputShape.dropLast(2),
        dy.shape[dy.rank - 2] == inputShape[dy.rank - 2] + padding.top + padding.bottom,
        dy.shape[dy.rank - 1] == inputShape[dy.rank - 1] + padding.left + padding.right
    else {
        throw TensorError("pad backward", "gradient \(dy.shape) is not input \(inputShape) padded by \(padding)")
    }
    return try pad2dForward(dy, padding.negated)
}

/// The padding that `torchvision.transforms.functional.center_crop` applies to reach `height`×`width`
/// from `inputHeight`×`inputWidth`: a crop (negative amounts) centred with Python's round-half-to-even,
/// or zero padding split as `(d // 2, (d + 1) // 2)` when the crop is larger than the input.
/// - Throws: `TensorError` for a non-positive crop size.
public func centerCropPadding(inputHeight: Int, inputWidth: Int, height: Int, width: Int) throws -> Padding2d {
    guard height > 0, width > 0 else {
        throw TensorError("center_crop", "crop size \(height)x\(width) must be positive")
    }
    func amounts(_ input: Int, _ crop: Int) -> (Int, Int) {
        if crop >= input {
            let d = crop - input
            return (d / 2, (d + 1) / 2)  // torchvision pads, then its crop offset is 0
        }
        let offset = Int((Double(input - crop) / 2).rounded(.toNearestOrEven))
        return (-offset, -(input - crop - offset))
    }
    let (top, bottom) = amounts(inputHeight, height)
    let (left, right) = amounts(inputWidth, width)
    return Padding2d(left: left, right: right, top: top, bottom: bottom)
}

/// Crops the centre `height`×`width` of the last two dimensions. Mirrors
/// `torchvision.transforms.functional.center_crop` (zero-pads when the crop is larger than the input).
public func centerCropForward(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
    guard x.rank >= 2 else { throw TensorError("center_crop", "input must have at least 2 dimensions, got \(x.shape)") }
    let padding = try centerCropPadding(inputHeight: x.shape[x.rank - 2], inputWidth: x.shape[x.rank - 1],
                                        height: height, width: width)
    return try pad2dForward(x, padding)
}

/// Gradient of `centerCropForward` with respect to its input of shape `inputShape`.
public func centerCropBackward(_ dy: Tensor, inputShape: [Int]) throws -> Tensor {
    guard dy.rank >= 2, inputShape.count == dy.rank else {
        throw TensorError.shapeMismatch("center_crop backward", dy.shape, inputShape, "gradient and input shapes")
    }
    let padding = try centerCropPadding(inputHeight: inputShape[dy.rank - 2], inputWidth: inputShape[dy.rank - 1],
                                        height: dy.shape[dy.rank - 2], width: dy.shape[dy.rank - 1])
    return try pad2dBackward(dy, padding, inputShape: inputShape)
}
