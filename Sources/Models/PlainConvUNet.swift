import NN
import Tensors

/// nnU-Net v2's 2-D `PlainConvUNet` (dynamic-network-architectures 0.4.4), key for key without its aliases:
/// `encoder.stages.{s}.0.convs.{c}` the encoder's blocks, `decoder.transpconvs.{i}` the transposed convolutions,
/// `decoder.stages.{i}.convs.{c}` the decoder's blocks, `decoder.seg_layers.{i}` one 1x1 head per decoder stage (the
/// last at full resolution, the one inference reads). `graph(inputShape:)` describes the computation.
///
///     x (N, C_in, H, W) → stage s: blocks, the first with stride strides[s] → … (H / product of strides)
///     decoder i: transposed conv (kernel = stride) → [up, skip] → blocks; last → 1x1 head → logits (N, classes, H, W)
public final class PlainConvUNet: Module {
    public let configuration: PlainConvUNetConfiguration
    public let encoder: [[ConvDropoutNormReLU]]
    public let transposed: [ConvTranspose2d]
    public let decoder: [[ConvDropoutNormReLU]]
    public let heads: [Conv2d]
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = []
        for (s, blocks) in encoder.enumerated() { children += blocks.enumerated().map { ("encoder.stages.\(s).0.convs.\($0.offset)", $0.element) } }
        for (i, blocks) in decoder.enumerated() { children += blocks.enumerated().map { ("decoder.stages.\(i).convs.\($0.offset)", $0.element) } }
        children += transposed.enumerated().map { ("decoder.transpconvs.\($0.offset)", $0.element) }
        return children + heads.enumerated().map { ("decoder.seg_layers.\($0.offset)", $0.element) }
    }

    /// A randomly initialised network (PyTorch's default initialisation; nnU-Net re-initialises with He's, which
    /// training from scratch here does not need).
    /// - Throws: `UNetError.invalidConfiguration` for options out of range.
    public init(_ configuration: PlainConvUNetConfiguration, generator: inout SeededGenerator) throws(UNetError) {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        var width = c.inputChannels
        var encoder: [[ConvDropoutNormReLU]] = []
        for (s, f) in c.features.enumerated() {
            encoder.append((0..<c.convsPerStage[s]).map { i in
                ConvDropoutNormReLU(inputChannels: i == 0 ? width : f, outputChannels: f, kernel: c.kernelSizes[s],
                                    stride: i == 0 ? c.strides[s] : 1, bias: c.convolutionBias, generator: &generator)
            })
            width = f
        }
        self.encoder = encoder
        let n = c.features.count
        var transposed: [ConvTranspose2d] = [], decoder: [[ConvDropoutNormReLU]] = [], heads: [Conv2d] = []
        for i in 0..<(n - 1) {
            let (deep, skip, stride) = (c.features[n - 1 - i], c.features[n - 2 - i], c.strides[n - 1 - i])
            transposed.append(ConvTranspose2d(inputChannels: deep, outputChannels: skip, kernelSize: stride, stride: stride,
                                              bias: c.convolutionBias, generator: &generator))
            decoder.append((0..<c.convsPerStageDecoder[i]).map { j in
                ConvDropoutNormReLU(inputChannels: j == 0 ? 2 * skip : skip, outputChannels: skip, kernel: c.kernelSizes[n - 2 - i],
                                    stride: 1, bias: c.convolutionBias, generator: &generator)
            })
            heads.append(Conv2d(inputChannels: skip, outputChannels: c.classes, kernelSize: 1, generator: &generator))
        }
        (self.transposed, self.decoder, self.heads) = (transposed, decoder, heads)
    }

    /// Checks `x` is `(N, inputChannels, H, W)` with H and W multiples of the strides' product.
    public func checkInput(_ shape: [Int]) throws(UNetError) {
        let c = configuration.inputChannels
        guard shape.count == 4, shape.allSatisfy({ $0 >= 1 }) else { throw .invalidInput("expected (N, \(c), H, W), got \(shape)") }
        guard shape[1] == c else { throw .invalidInput("the model takes \(c) input channels, got \(shape[1]) in \(shape)") }
        let m = configuration.sizeMultiple
        guard shape[2] % m == 0, shape[3] % m == 0 else {
            throw .invalidInput("\(shape[2])x\(shape[3]): this nnU-Net network takes sizes that are multiples of \(m) (its strides' product)")
        }
    }

    /// The keys PyTorch's state dict also lists for the same tensors: each block's `all_modules.0` (its convolution)
    /// and `all_modules.1` (its norm), and the whole encoder again under `decoder.encoder`, as `(alias, key)`.
    public static func aliases(of keys: [String]) -> [(alias: String, key: String)] {
        func blockAliases(_ key: String) -> [String] {
            guard key.contains(".convs.") else { return [] }
            for (part, index) in [(".conv.", "0"), (".norm.", "1")] where key.contains(part) {
                return [key.replacingOccurrences(of: part, with: ".all_modules.\(index).")]
            }
            return []
        }
        var result: [(alias: String, key: String)] = []
        for key in keys { result += blockAliases(key).map { ($0, key) } }
        for key in keys where key.hasPrefix("encoder.") { result += ([key] + blockAliases(key)).map { ("decoder." + $0, key) } }
        return result
    }
}
