/// The options of nnU-Net v2's 2-D `ResidualEncoderUNet` this project builds (dynamic-network-architectures 0.4.4, as
/// nnU-Net's ResEnc planners configure it): a stem convolution, then per stage `blocksPerStage` `BasicBlockD`s, the
/// first strided; the `UNetDecoder` of `PlainConvUNet` (usually one convolution per stage).
public struct ResidualEncoderUNetConfiguration: Hashable, Sendable, Codable {
    public var features: [Int]
    /// Each stage's stride along the height, and along the width unless `widthStrides` differs (see
    /// `PlainConvUNetConfiguration.strides`); the first is 1 in nnU-Net's plans.
    public var strides: [Int]
    /// Each stage's stride along the width where some differs from the height's; nil when all are square.
    public var widthStrides: [Int]?
    public var kernelSizes: [Int]
    /// Each stage's kernel size along the width where some differs from the height's; nil when all are square.
    public var widthKernelSizes: [Int]?
    /// `n_blocks_per_stage` (ResEnc M: 1, 3, 4, 6, 6, 6, …).
    public var blocksPerStage: [Int]
    public var convsPerStageDecoder: [Int]
    public var inputChannels: Int
    public var classes: Int
    public var convolutionBias: Bool

    /// `widthStrides` equal to `strides`, and `widthKernelSizes` equal to `kernelSizes`, are stored as nil (square).
    public init(features: [Int], strides: [Int], widthStrides: [Int]? = nil, kernelSizes: [Int]? = nil, widthKernelSizes: [Int]? = nil,
                blocksPerStage: [Int], convsPerStageDecoder: [Int]? = nil, inputChannels: Int, classes: Int, convolutionBias: Bool = true) {
        (self.features, self.strides, self.blocksPerStage, self.inputChannels, self.classes) = (features, strides, blocksPerStage, inputChannels, classes)
        self.widthStrides = widthStrides == strides ? nil : widthStrides
        self.kernelSizes = kernelSizes ?? Array(repeating: 3, count: features.count)
        self.widthKernelSizes = widthKernelSizes == self.kernelSizes ? nil : widthKernelSizes
        self.convsPerStageDecoder = convsPerStageDecoder ?? Array(repeating: 1, count: max(features.count - 1, 0))
        self.convolutionBias = convolutionBias
    }

    /// The stages, widths, strides and kernels as a `PlainConvUNetConfiguration` (validation and the decoder's shape).
    var plain: PlainConvUNetConfiguration {
        PlainConvUNetConfiguration(features: features, strides: strides, widthStrides: widthStrides, kernelSizes: kernelSizes,
                                   widthKernelSizes: widthKernelSizes, convsPerStage: blocksPerStage,
                                   convsPerStageDecoder: convsPerStageDecoder, inputChannels: inputChannels, classes: classes,
                                   convolutionBias: convolutionBias)
    }

    /// Each stage's `[height, width]` stride (see `PlainConvUNetConfiguration.stageStrides`).
    public var stageStrides: [[Int]] { plain.stageStrides }
    /// Each stage's `[height, width]` kernel.
    public var stageKernels: [[Int]] { plain.stageKernels }
    public var sizeMultiples: [Int] { plain.sizeMultiples }
    public var sizeMultiple: Int { plain.sizeMultiple }
    /// `1,2,2,2x1` (see `PlainConvUNetConfiguration.stridesText(separator:)`).
    public func stridesText(separator: String = ",") -> String { plain.stridesText(separator: separator) }
    /// `3,3,1x3` (see `PlainConvUNetConfiguration.kernelsText(separator:)`).
    public func kernelsText(separator: String = ",") -> String { plain.kernelsText(separator: separator) }

    /// - Throws: `UNetError.invalidConfiguration` naming the option out of range.
    public func validate() throws(UNetError) {
        do { try plain.validate() } catch {
            throw .invalidConfiguration("\(error)".replacingOccurrences(of: "convolutions per stage", with: "blocks per stage"))
        }
    }

    /// The number of trainable parameters, counted before anything is allocated.
    public var parameterCount: Double {
        let bias = convolutionBias ? 1.0 : 0.0
        func conv(_ input: Int, _ output: Int, _ k: [Int], bias: Double) -> Double {
            Double(input * output * k[0] * k[1]) + Double(output) * (bias + 2)
        }
        let kernels = stageKernels
        var total = conv(inputChannels, features[0], kernels[0], bias: bias)
        var width = features[0]
        for (s, f) in features.enumerated() {
            for b in 0..<blocksPerStage[s] {
                let input = b == 0 ? width : f
                total += conv(input, f, kernels[s], bias: bias) + conv(f, f, kernels[s], bias: bias)
                if input != f { total += conv(input, f, [1, 1], bias: 0) }
            }
            width = f
        }
        var decoderOnly = plain
        decoderOnly.convsPerStage = Array(repeating: 0, count: features.count)
        return total + decoderOnly.parameterCount
    }

    public func activationBytesEstimate(batch: Int, height: Int, width: Int, training: Bool) -> Double {
        var doubled = plain
        doubled.convsPerStage = blocksPerStage.map { 2 * $0 + 1 }
        return doubled.activationBytesEstimate(batch: batch, height: height, width: width, training: training)
    }
}

extension ResidualEncoderUNetConfiguration: CustomStringConvertible {
    /// `nnU-Net ResidualEncoderUNet(features 32-64-128, strides 1-2-2, blocks 1-3-4, 1 -> 4 classes)`.
    public var description: String {
        var parts = ["features \(features.map(String.init).joined(separator: "-"))", "strides \(stridesText(separator: "-"))",
                     "blocks \(blocksPerStage.map(String.init).joined(separator: "-"))"]
        if stageKernels.contains(where: { $0 != [3, 3] }) { parts.append("kernels \(plain.kernelsText(separator: "-"))") }
        if convsPerStageDecoder.contains(where: { $0 != 1 }) { parts.append("decoder convolutions \(convsPerStageDecoder.map(String.init).joined(separator: "-"))") }
        if !convolutionBias { parts.append("no bias") }
        return "nnU-Net ResidualEncoderUNet(\(parts.joined(separator: ", ")), \(inputChannels) -> \(classes) classes)"
    }
}
