import NN
import Tensors

/// MONAI's `BasicUNet` (monai 1.6.1), 2-D, key for key: `conv_0` and `down_{1…4}.convs` are the encoder's
/// `TwoConv` blocks (`conv_0`, `conv_1`: MONAI `Convolution`s with LeakyReLU 0.1), `upcat_{4…1}.upsample.deconv` the
/// 2x2 stride-2 transposed convolutions (with a bias whatever `bias` says: MONAI's `UpSample` keeps its own),
/// `upcat_{4…1}.convs` the decoder's `TwoConv`s, `final_conv` the 1x1 head. `graph(inputShape:)` describes the
/// computation, which the engine runs.
///
///     x (N, C_in, H, W) → TwoConv → [2x2 max-pool → TwoConv] × 4 (H/16, floor)
///     upcat k = 4 … 1: 2x2/2 transposed conv, replicate-padded by one on the high side where the skip is one
///     larger (odd sizes), [skip, up] concatenated, TwoConv → 1x1 conv → logits (N, classes, H, W)
public final class BasicUNet: Module {
    public let configuration: BasicUNetConfiguration
    /// `conv_0`, `down_1` … `down_4`: two blocks each.
    public let encoder: [[MONAIConvolution]]
    /// `upcat_4` … `upcat_1`: the transposed convolution and two blocks.
    public let decoder: [(up: ConvTranspose2d, convs: [MONAIConvolution])]
    public let head: Conv2d
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = []
        for (level, convs) in encoder.enumerated() {
            let key = level == 0 ? "conv_0" : "down_\(level).convs"
            children += convs.enumerated().map { ("\(key).conv_\($0.offset)", $0.element) }
        }
        for (i, (up, convs)) in decoder.enumerated() {
            children.append(("upcat_\(4 - i).upsample.deconv", up))
            children += convs.enumerated().map { ("upcat_\(4 - i).convs.conv_\($0.offset)", $0.element) }
        }
        return children + [("final_conv", head)]
    }

    /// A randomly initialised network (PyTorch's default initialisation).
    /// - Throws: `UNetError.invalidConfiguration` for options out of range.
    public init(_ configuration: BasicUNetConfiguration, generator: inout SeededGenerator) throws(UNetError) {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        func twoConv(_ input: Int, _ output: Int) -> [MONAIConvolution] {
            [input, output].map { MONAIConvolution(inputChannels: $0, outputChannels: output, kernel: 3, norm: c.norm,
                                                   nonlinearity: c.activation, bias: c.bias, dropout: c.dropout ?? 0, generator: &generator) }
        }
        encoder = (0...4).map { level in twoConv(level == 0 ? c.inputChannels : c.features[level - 1], c.features[level]) }
        decoder = (1...4).reversed().map { k in
            let u = c.upcat(k)
            return (ConvTranspose2d(inputChannels: u.input, outputChannels: u.up, kernelSize: 2, stride: 2, generator: &generator),
                    twoConv(u.skip + u.up, u.output))
        }
        head = Conv2d(inputChannels: c.features[5], outputChannels: c.classes, kernelSize: 1, generator: &generator)
    }

    /// Checks `x` is `(N, inputChannels, H, W)` with H and W at least 16 (four poolings).
    public func checkInput(_ shape: [Int]) throws(UNetError) {
        let c = configuration.inputChannels
        guard shape.count == 4, shape.allSatisfy({ $0 >= 1 }) else { throw .invalidInput("expected (N, \(c), H, W), got \(shape)") }
        guard shape[1] == c else { throw .invalidInput("the model takes \(c) input channels, got \(shape[1]) in \(shape)") }
        let m = BasicUNetConfiguration.minimumInputSize
        guard shape[2] >= m, shape[3] >= m else {
            throw .invalidInput("\(shape[2])x\(shape[3]) is too small for a BasicUNet (at least \(m) pixels a side)")
        }
    }
}
