import Kernels
import Tensors

/// 2-D transposed convolution ("up-convolution"), groups 1, dilation 1, output_padding 0.
/// Mirrors `torch.nn.ConvTranspose2d` (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html).
public final class ConvTranspose2d: Module {
    /// `(C_in, C_out, kH, kW)`, PyTorch's layout for transposed convolutions.
    public let weight: Parameter
    /// `(C_out)`, or nil for `bias=False`.
    public let bias: Parameter?
    public let stride: Int
    public let padding: Int
    public var isTraining = true

    public var namedTensors: [(String, Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// A transposed convolution initialised as PyTorch does (uniform in `±1/sqrt(C_out·k·k)`).
    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        bias: Bool = true, generator: inout SeededGenerator
    ) {
        let (w, b) = defaultConvolutionInitialization(
            weightShape: [inputChannels, outputChannels, kernelSize, kernelSize],
            fanIn: outputChannels * kernelSize * kernelSize, biasCount: bias ? outputChannels : nil,
            generator: &generator)
        weight = Parameter(w)
        self.bias = b.map { Parameter($0) }
        self.stride = stride
        self.padding = padding
    }

    /// `(N, C_in, H, W)` → `(N, C_out, (H − 1)·s − 2p + k, (W − 1)·s − 2p + k)`; for k = s = 2, p = 0: `(2H, 2W)`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try convTranspose2dForward(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
    }

    /// The output and its pullback (accumulates `weight.grad`, `bias.grad`; returns the input gradient).
    public func forward(_ x: Tensor) throws -> (Tensor, Pullback) {
        let weightValue = weight.value
        return (try self(x), { dy in
            let (dWeight, dBias) = try convTranspose2dBackwardWeights(
                dy, input: x, weightShape: weightValue.shape, withBias: self.bias != nil, stride: self.stride,
                padding: self.padding)
            try self.weight.accumulate(dWeight)
            if let dBias { try self.bias?.accumulate(dBias) }
            return try convTranspose2dBackwardData(dy, weight: weightValue, inputShape: x.shape,
                                                   stride: self.stride, padding: self.padding)
        })
    }
}
