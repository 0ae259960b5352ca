import NN
import Tensors

/// nnU-Net v2's 2-D `PlainConvUNet` (dynamic-network-architectures 0.4.4), key for key without its aliases
/// (`NNUNetAliases`): `encoder.stages.{s}.0.convs.{c}` the encoder's blocks, the first of each stage strided, then
/// the `UNetDecoder` under `decoder`. `graph(inputShape:)` describes the computation.
///
///     x (N, C_in, H, W) → stage s: blocks, the first with stride stageStrides[s] → … (H, W / the strides' products)
///     decoder i: transposed conv (kernel = stride) → [up, skip] → blocks; last → 1x1 head → logits (N, classes, H, W)
public final class PlainConvUNet: Module {
    public let configuration: PlainConvUNetConfiguration
    public let encoder: [[ConvDropoutNormReLU]]
    public let decoder: UNetDecoder
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = []
        for (s, blocks) in encoder.enumerated() { children += blocks.enumerated().map { ("encoder.stages.\(s).0.convs.\($0.offset)", $0.element) } }
        return children + [("decoder", decoder)]
    }

    /// A randomly initialised network (PyTorch's default initialisation; nnU-Net re-initialises with He's, which
    /// training from scratch here does not need).
    /// - Throws: `UNetError.invalidConfiguration` for options out of range.
    public init(_ configuration: PlainConvUNetConfiguration, generator: inout SeededGenerator) throws(UNetError) {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        let (strides, kernels) = (c.stageStrides, c.stageKernels)
        var width = c.inputChannels
        var encoder: [[ConvDropoutNormReLU]] = []
        for (s, f) in c.features.enumerated() {
            encoder.append((0..<c.convsPerStage[s]).map { i in
                ConvDropoutNormReLU(inputChannels: i == 0 ? width : f, outputChannels: f, kernel: kernels[s],
                                    stride: i == 0 ? strides[s] : [1, 1], bias: c.convolutionBias, generator: &generator)
            })
            width = f
        }
        self.encoder = encoder
        decoder = UNetDecoder(features: c.features, strides: strides, kernelSizes: kernels, convsPerStage: c.convsPerStageDecoder,
                              classes: c.classes, bias: c.convolutionBias, generator: &generator)
    }

    /// Checks `x` is `(N, inputChannels, H, W)` with H and W multiples of the strides' products along them.
    public func checkInput(_ shape: [Int]) throws(UNetError) {
        try Self.checkInput(shape, inputChannels: configuration.inputChannels, multiples: configuration.sizeMultiples)
    }

    /// Checks `shape` is `(N, inputChannels, H, W)` with H and W multiples of `multiples` (`[height, width]`; nnU-Net's
    /// networks).
    static func checkInput(_ shape: [Int], inputChannels c: Int, multiples m: [Int]) throws(UNetError) {
        guard shape.count == 4, shape.allSatisfy({ $0 >= 1 }) else { throw .invalidInput("expected (N, \(c), H, W), got \(shape)") }
        guard shape[1] == c else { throw .invalidInput("the model takes \(c) input channels, got \(shape[1]) in \(shape)") }
        guard shape[2] % m[0] == 0, shape[3] % m[1] == 0 else {
            let sizes = m[0] == m[1] ? "multiples of \(m[0])" : "multiples of \(m[0]) high and \(m[1]) wide"
            throw .invalidInput("\(shape[2])x\(shape[3]): this nnU-Net network takes sizes that are \(sizes) (its strides' product)")
        }
    }
}
