import Kernels
import Tensors

/// 2-D convolution over `(N, C_in, H, W)` input, dilation 1. Mirrors `torch.nn.Conv2d`
/// (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html); defaults match PyTorch's. With `groups` above
/// 1 (ResNeXt's) or a kernel, stride or padding that differs between the axes (nnU-Net's), it holds the parameters a
/// graph's convolution reads; the eager call takes groups 1 and square ones.
public final class Conv2d: Module {
    /// `(C_out, C_in / groups, kH, kW)`, PyTorch OIHW.
    public let weight: Parameter
    /// `(C_out)`, or nil for `bias=False`.
    public let bias: Parameter?
    /// `[height, width]`, as PyTorch's `stride` and `padding` tuples.
    public let stride: [Int]
    public let padding: [Int]
    /// Input and output channels split into this many independent convolutions (PyTorch's `groups`).
    public let groups: Int
    public var isTraining = true

    public var namedTensors: [(String, Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// A convolution initialised as PyTorch does (uniform in `±1/sqrt(C_in / groups·k·k)`); `groups` divides both
    /// channel counts.
    public convenience init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        bias: Bool = true, groups: Int = 1, generator: inout SeededGenerator
    ) {
        self.init(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: [kernelSize, kernelSize],
                  stride: [stride, stride], padding: [padding, padding], bias: bias, groups: groups, generator: &generator)
    }

    /// A convolution whose kernel, stride and padding are `[height, width]` (bound `±1/sqrt(C_in / groups·kH·kW)`).
    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: [Int], stride: [Int], padding: [Int],
        bias: Bool = true, groups: Int = 1, generator: inout SeededGenerator
    ) {
        let (w, b) = defaultConvolutionInitialization(
            weightShape: [outputChannels, inputChannels / groups, kernelSize[0], kernelSize[1]],
            fanIn: inputChannels / groups * kernelSize[0] * kernelSize[1], biasCount: bias ? outputChannels : nil,
            generator: &generator)
        weight = Parameter(w)
        self.bias = b.map { Parameter($0) }
        self.stride = stride
        self.padding = padding
        self.groups = groups
    }

    /// `(N, C_in, H, W)` → `(N, C_out, (H + 2p − k)/s + 1, (W + 2p − k)/s + 1)`.
    /// - Throws: `TensorError` for groups above 1 or a kernel, stride or padding that differs between the axes, which
    ///   only a compiled graph runs, or for shapes that do not fit.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard groups == 1 else { throw TensorError("conv2d", "groups \(groups): the eager convolution takes groups 1; compile a graph") }
        let (stride, padding) = try squareGeometry()
        return try conv2dForward(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
    }

    /// The stride and padding of both axes (and a square kernel), for the eager kernels.
    private func squareGeometry() throws -> (stride: Int, padding: Int) {
        let shape = weight.value.shape
        guard stride[0] == stride[1], padding[0] == padding[1], shape[2] == shape[3] else {
            throw TensorError("conv2d", "kernel \(shape[2])x\(shape[3]), stride \(stride), padding \(padding): the eager convolution takes "
                + "square ones; compile a graph")
        }
        return (stride[0], padding[0])
    }

    /// The output and a pullback that keeps `x` alive, accumulates into `weight.grad` and `bias.grad`, and
    /// returns the input gradient.
    public func forward(_ x: Tensor) throws -> (Tensor, Pullback) {
        let weightValue = weight.value  // (groups above 1 are refused by the call below)
        let (stride, padding) = try squareGeometry()
        return (try self(x), { dy in
            let (dWeight, dBias) = try conv2dBackwardWeights(
                dy, input: x, weightShape: weightValue.shape, withBias: self.bias != nil, stride: stride,
                padding: padding)
            try self.weight.accumulate(dWeight)
            if let dBias { try self.bias?.accumulate(dBias) }
            return try conv2dBackwardData(dy, weight: weightValue, inputShape: x.shape, stride: stride,
                                          padding: padding)
        })
    }
}
