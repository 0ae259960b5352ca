import DNNL
import Tensors

/// The shapes of one 2-D convolution or transposed convolution, validated, with the oneDNN descriptors
/// that describe it. Shared by the forward and backward kernels of both `Conv2d` and `ConvTranspose2d`.
struct ConvolutionProblem {
    let kind: ConvolutionKind
    /// `(N, C_in, H, W)`.
    let inputShape: [Int]
    /// PyTorch layout: `(C_out, C_in, kH, kW)` for a convolution, `(C_in, C_out, kH, kW)` transposed.
    let weightShape: [Int]
    /// `(N, C_out, H_out, W_out)`.
    let outputShape: [Int]
    let geometry: SpatialGeometry

    var operation: String { kind == .convolution ? "conv2d" : "conv_transpose2d" }

    /// Validates `inputShape` against `weightShape` and computes the output shape.
    /// - Throws: `TensorError` naming the op and both shapes when they do not fit.
    init(_ kind: ConvolutionKind, inputShape: [Int], weightShape: [Int], stride: Int, padding: Int) throws {
        self.kind = kind
        self.inputShape = inputShape
        self.weightShape = weightShape
        geometry = SpatialGeometry(stride: stride, padding: padding)
        let op = kind == .convolution ? "conv2d" : "conv_transpose2d"
        guard inputShape.count == 4, inputShape.allSatisfy({ $0 > 0 }) else {
            throw TensorError(op, "input must be (N, C, H, W) with non-zero sizes, got \(inputShape)")
        }
        guard weightShape.count == 4, weightShape.allSatisfy({ $0 > 0 }) else {
            throw TensorError(op, "weight must be 4-D with non-zero sizes, got \(weightShape)")
        }
        guard stride > 0, padding >= 0 else {
            throw TensorError(op, "stride \(stride) must be positive and padding \(padding) non-negative")
        }
        guard inputShape[1] == weightShape[kind == .convolution ? 1 : 0] else {
            throw TensorError(
                op, "input \(inputShape) has \(inputShape[1]) channels but weight \(weightShape) expects "
                    + "\(weightShape[kind == .convolution ? 1 : 0])")
        }
        let (kH, kW) = (weightShape[2], weightShape[3])
        let spatial: [Int]
        switch kind {
        case .convolution:
            spatial = [(inputShape[2] + 2 * padding - kH) / stride + 1, (inputShape[3] + 2 * padding - kW) / stride + 1]
            guard inputShape[2] + 2 * padding >= kH, inputShape[3] + 2 * padding >= kW else {
                throw TensorError(op, "input \(inputShape) is smaller than kernel \(weightShape) with padding \(padding)")
            }
        case .transposed:
            spatial = [(inputShape[2] - 1) * stride - 2 * padding + kH, (inputShape[3] - 1) * stride - 2 * padding + kW]
            guard spatial.allSatisfy({ $0 > 0 }) else {
                throw TensorError(op, "input \(inputShape) with weight \(weightShape) gives an empty output")
            }
        }
        outputShape = [inputShape[0], weightShape[kind == .convolution ? 0 : 1]] + spatial
    }

    /// Checks that a backward pass's output gradient has the forward output's shape.
    func checkOutputGradient(_ dy: Tensor) throws {
        guard dy.shape == outputShape else {
            throw TensorError.shapeMismatch(operation + " backward", dy.shape, outputShape, "output gradient and output")
        }
    }

    /// Output channels.
    var outputChannels: Int { outputShape[1] }

    /// oneDNN's logical weight dimensions `(C_out, C_in, kH, kW)`.
    var logicalWeightDims: [Int] {
        kind == .convolution ? weightShape : [weightShape[1], weightShape[0], weightShape[2], weightShape[3]]
    }

    /// The PyTorch weight tensor's layout as oneDNN sees it: plain OIHW, or IOHW (`bacd`) when transposed.
    func userWeightDescriptor() throws -> MemoryDescriptor {
        try MemoryDescriptor(dims: logicalWeightDims, format: kind == .convolution ? .abcd : .bacd)
    }

    /// The forward primitive descriptor with layouts left to oneDNN.
    func forwardDescriptor(training: Bool, bias: Bool, attributes: PrimitiveAttributes? = nil) throws
        -> PrimitiveDescriptor
    {
        try .convolutionForward(
            kind, training: training, source: MemoryDescriptor(dims: inputShape, format: .any),
            weights: MemoryDescriptor(dims: logicalWeightDims, format: .any),
            bias: bias ? MemoryDescriptor(dims: [outputChannels], format: .a) : nil,
            destination: MemoryDescriptor(dims: outputShape, format: .any), geometry: geometry,
            attributes: attributes)
    }
}
