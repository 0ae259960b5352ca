import NN
import Tensors

/// nnU-Net v2's 2-D `ResidualEncoderUNet` (dynamic-network-architectures 0.4.4; nnU-Net's ResEnc M/L/XL presets),
/// key for key without its aliases (`NNUNetAliases`): `encoder.stem.convs.0` a convolution block at full resolution,
/// `encoder.stages.{s}.blocks.{b}` the `BasicBlockD`s, the first of each stage strided, then the `UNetDecoder` under
/// `decoder`. `graph(inputShape:)` describes the computation.
public final class ResidualEncoderUNet: Module {
    public let configuration: ResidualEncoderUNetConfiguration
    public let stem: ConvDropoutNormReLU
    public let stages: [[BasicBlockD]]
    public let decoder: UNetDecoder
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = [("encoder.stem.convs.0", stem)]
        for (s, blocks) in stages.enumerated() { children += blocks.enumerated().map { ("encoder.stages.\(s).blocks.\($0.offset)", $0.element) } }
        return children + [("decoder", decoder)]
    }

    /// A randomly initialised network (PyTorch's default initialisation).
    /// - Throws: `UNetError.invalidConfiguration` for options out of range.
    public init(_ configuration: ResidualEncoderUNetConfiguration, generator: inout SeededGenerator) throws(UNetError) {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        let (strides, kernels) = (c.stageStrides, c.stageKernels)
        stem = ConvDropoutNormReLU(inputChannels: c.inputChannels, outputChannels: c.features[0], kernel: kernels[0], stride: [1, 1],
                                   bias: c.convolutionBias, generator: &generator)
        var width = c.features[0]
        var stages: [[BasicBlockD]] = []
        for (s, f) in c.features.enumerated() {
            stages.append((0..<c.blocksPerStage[s]).map { b in
                BasicBlockD(inputChannels: b == 0 ? width : f, outputChannels: f, kernel: kernels[s],
                            stride: b == 0 ? strides[s] : [1, 1], bias: c.convolutionBias, generator: &generator)
            })
            width = f
        }
        self.stages = stages
        decoder = UNetDecoder(features: c.features, strides: strides, kernelSizes: kernels, convsPerStage: c.convsPerStageDecoder,
                              classes: c.classes, bias: c.convolutionBias, generator: &generator)
    }

    /// Checks `x` is `(N, inputChannels, H, W)` with H and W multiples of the strides' products along them.
    public func checkInput(_ shape: [Int]) throws(UNetError) {
        try PlainConvUNet.checkInput(shape, inputChannels: configuration.inputChannels, multiples: configuration.sizeMultiples)
    }
}
