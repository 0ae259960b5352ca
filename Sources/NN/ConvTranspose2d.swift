import Kernels
import Tensors

/// 2-D transposed convolution ("up-convolution"), groups 1, dilation 1, output_padding 0. With a kernel or stride that
/// differs between the axes (nnU-Net's), it holds the parameters a graph's transposed convolution reads; the eager call
/// takes square ones.
/// Mirrors `torch.nn.ConvTranspose2d` (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html).
public final class ConvTranspose2d: Module {
    /// `(C_in, C_out, kH, kW)`, PyTorch's layout for transposed convolutions.
    public let weight: Parameter
    /// `(C_out)`, or nil for `bias=False`.
    public let bias: Parameter?
    /// `[height, width]`, as PyTorch's `stride` tuple.
    public let stride: [Int]
    public let padding: Int
    public var isTraining = true

    public var namedTensors: [(String, Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// A transposed convolution initialised as PyTorch does (uniform in `±1/sqrt(C_out·k·k)`).
    public convenience init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        bias: Bool = true, generator: inout SeededGenerator
    ) {
        self.init(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: [kernelSize, kernelSize],
                  stride: [stride, stride], padding: padding, bias: bias, generator: &generator)
    }

    /// A transposed convolution whose kernel and stride are `[height, width]` (bound `±1/sqrt(C_out·kH·kW)`).
    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: [Int], stride: [Int], padding: Int = 0,
        bias: Bool = true, generator: inout SeededGenerator
    ) {
        let (w, b) = defaultConvolutionInitialization(
            weightShape: [inputChannels, outputChannels, kernelSize[0], kernelSize[1]],
            fanIn: outputChannels * kernelSize[0] * kernelSize[1], biasCount: bias ? outputChannels : nil,
            generator: &generator)
        weight = Parameter(w)
        self.bias = b.map { Parameter($0) }
        self.stride = stride
        self.padding = padding
    }

    /// `(N, C_in, H, W)` → `(N, C_out, (H − 1)·s − 2p + k, (W − 1)·s − 2p + k)`; for k = s = 2, p = 0: `(2H, 2W)`.
    /// - Throws: `TensorError` for a kernel or stride that differs between the axes, which only a compiled graph runs, or
    ///   for shapes that do not fit.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try convTranspose2dForward(x, weight: weight.value, bias: bias?.value, stride: try squareStride(), padding: padding)
    }

    /// The stride of both axes (and a square kernel), for the eager kernels.
    private func squareStride() throws -> Int {
        let shape = weight.value.shape
        guard stride[0] == stride[1], shape[2] == shape[3] else {
            throw TensorError("convTranspose2d", "kernel \(shape[2])x\(shape[3]), stride \(stride): the eager transposed convolution takes square "
                + "ones; compile a graph")
        }
        return stride[0]
    }

    /// The output and its pullback (accumulates `weight.grad`, `bias.grad`; returns the input gradient).
    public func forward(_ x: Tensor) throws -> (Tensor, Pullback) {
        let weightValue = weight.value
        let stride = try squareStride()
        return (try self(x), { dy in
            let (dWeight, dBias) = try convTranspose2dBackwardWeights(
                dy, input: x, weightShape: weightValue.shape, withBias: self.bias != nil, stride: stride,
                padding: self.padding)
            try self.weight.accumulate(dWeight)
            if let dBias { try self.bias?.accumulate(dBias) }
            return try convTranspose2dBackwardData(dy, weight: weightValue, inputShape: x.shape,
                                                   stride: stride, padding: self.padding)
        })
    }
}
