import ArgumentParser
import Models

/// The architecture of a new network for `unet train`: milesial's classic U-Net with its defaults (valid padding
/// crops the skips, as the paper does), segmentation_models_pytorch's `Unet` with a ResNet, EfficientNet or MobileNetV2 encoder and smp's
/// defaults, MONAI's `BasicUNet` with MONAI's defaults, MONAI's `UNet` as MONAI's tutorials build it, or nnU-Net's
/// 2-D `PlainConvUNet` as nnU-Net's planner does.
struct ArchitectureOptions: ParsableArguments {
    enum Family: String, ExpressibleByArgument, CaseIterable {
        case unet
        case smpUNet = "smp-unet"
        case basicUNet = "basic-unet"
        case monaiUNet = "monai-unet"
        case nnUNet = "nnunet"
    }

    @Option(help: ArgumentHelp("The network: a classic U-Net, smp's Unet with a ResNet, SE-ResNeXt, EfficientNet or MobileNetV2 encoder, MONAI's BasicUNet, MONAI's UNet or "
        + "nnU-Net's 2-D PlainConvUNet.", valueName: "unet|smp-unet|basic-unet|monai-unet|nnunet"))
    var arch: Family = .unet
    @Option(name: [.short, .long], help: "Classes (1 for a binary model with a sigmoid).") var classes = 2
    @Flag(help: "Bilinear up-sampling instead of transposed convolutions.") var bilinear = false
    @Option(help: "Input channels (1 gray, 3 RGB).") var inChannels = 3
    @Option(help: "Base width.") var base = 64
    @Option(help: "Number of down-samplings.") var depth = 4
    @Option(help: ArgumentHelp("3x3 convolution padding.", valueName: "same|valid")) var padding: UNetConfiguration.Padding = .same
    @Option(help: ArgumentHelp("smp-unet: the encoder, smp's encoder_name (a torchvision ResNet or ResNeXt, an SE-ResNet "
        + "or SE-ResNeXt, an efficientnet-pytorch or timm EfficientNet, or mobilenet_v2).", valueName: "encoder"))
    var encoder: SMPEncoder = .resnet(.resnet34)
    @Option(help: "smp-unet: encoder stages the decoder uses (1-5).") var encoderDepth = 5
    @Option(help: ArgumentHelp("smp-unet: decoder block widths, deepest first, one per stage (default: 256,128,64,32,16, "
        + "the last --encoder-depth of them).", valueName: "widths")) var decoderChannels: String?
    @Option(help: ArgumentHelp("smp-unet: decoder attention (smp's decoder_attention_type; default none).", valueName: "scse"))
    var decoderAttention: SMPUNetConfiguration.DecoderAttention?
    @Option(help: ArgumentHelp("smp-unet: the decoder's up-sampling (smp's decoder_interpolation; default nearest; with --load, "
        + "that of an smp .pth, which does not record it).", valueName: "nearest|bilinear"))
    var decoderInterpolation: SMPUNetConfiguration.DecoderInterpolation?
    @Option(help: ArgumentHelp("basic-unet: MONAI's features, the five levels' widths and the last up-sampling's "
        + "(default: 32,32,64,128,256,32); nnunet: features per stage (default: 32,64,128,256,512,512).", valueName: "widths"))
    var features: String?
    @Option(help: ArgumentHelp("monai-unet: MONAI's channels, top level first (default: 16,32,64,128,256).", valueName: "widths"))
    var channels: String?
    @Option(help: ArgumentHelp("monai-unet: MONAI's strides, one per level above the bottom (default: 2 each; with --load, those "
        + "of a MONAI UNet .pth, which does not record them); nnunet: one per stage, HxW where the sides differ (default: 1, then 2 "
        + "each; e.g. 1,2,2,2,1x2 for a patch twice as wide as high).", valueName: "strides"))
    var strides: String?
    @Option(help: "monai-unet: MONAI's num_res_units (0 for plain blocks).") var resUnits = 2
    @Option(help: ArgumentHelp("basic-unet, monai-unet: the norm (default: instance-affine for basic-unet, batch for monai-unet; "
        + "with --load, instance or none completes a file without norm parameters).", valueName: "instance|instance-affine|batch|none"))
    var norm: MONAINorm?
    @Option(help: ArgumentHelp("basic-unet, monai-unet: MONAI's act (default: leakyrelu:0.1 for basic-unet, prelu for monai-unet; with "
        + "--load, completes a file whose activation has no parameters).", valueName: MONAIActivation.choices))
    var act: MONAIActivation?

    func validate() throws {
        try FlagRange.check(classes, "--classes", in: 1...UNetConfiguration.maximumChannels)
        try FlagRange.check(inChannels, "--in-channels", in: 1...UNetConfiguration.maximumChannels)
        try FlagRange.check(base, "--base", in: 1...4096)
        try FlagRange.check(depth, "--depth", in: 1...8)
        try FlagRange.check(encoderDepth, "--encoder-depth", in: 1...5)
        try FlagRange.check(resUnits, "--res-units", in: 0...8)
        let flags: String
        switch arch {
        case .unet: return
        case .smpUNet: flags = "--encoder-depth/--decoder-channels/--decoder-attention/--in-channels/--classes"
        case .basicUNet: flags = "--features/--in-channels/--classes"
        case .monaiUNet: flags = "--channels/--strides/--in-channels/--classes"
        case .nnUNet: flags = "--features/--strides/--in-channels/--classes"
        }
        do { try architecture().validate() } catch let error as UNetError { throw ValidationError("\(flags): \(error)") }
    }

    /// The architecture the flags describe.
    func architecture() throws -> Architecture {
        switch arch {
        case .unet: return .unet(configuration())
        case .smpUNet: return .smpUNet(try smpConfiguration())
        case .basicUNet:
            return .basicUNet(BasicUNetConfiguration(
                features: try NumberList.parse(features, "--features", as: Int.self) ?? [32, 32, 64, 128, 256, 32],
                inputChannels: inChannels, classes: classes, norm: norm ?? .instanceAffine,
                activation: act ?? BasicUNetConfiguration.defaultActivation))
        case .monaiUNet:
            let channels = try NumberList.parse(channels, "--channels", as: Int.self) ?? [16, 32, 64, 128, 256]
            return .monaiUNet(MONAIUNetConfiguration(
                channels: channels, strides: try NumberList.parse(strides, "--strides", as: Int.self) ?? Array(repeating: 2, count: channels.count - 1),
                residualUnits: resUnits, norm: norm ?? .batch, activation: act ?? .prelu, inputChannels: inChannels, classes: classes))
        case .nnUNet:
            let features = try NumberList.parse(features, "--features", as: Int.self) ?? [32, 64, 128, 256, 512, 512]
            let stages = try strides.map(Self.stageStrides) ?? [[1, 1]] + Array(repeating: [2, 2], count: features.count - 1)
            return .plainConvUNet(PlainConvUNetConfiguration(
                features: features, strides: stages.map { $0[0] }, widthStrides: stages.map { $0[1] }, inputChannels: inChannels, classes: classes))
        }
    }

    /// nnU-Net's `--strides`: each stage's `[height, width]`, `2` for both, `2x1` for 2 along the height and 1 along the width.
    /// - Throws: `ValidationError` naming the flag for anything else.
    static func stageStrides(_ text: String) throws -> [[Int]] {
        let stages = text.split(separator: ",", omittingEmptySubsequences: false).map { item in
            let sides = item.trimmingCharacters(in: .whitespaces).split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            return sides.count == 1 ? [sides[0], sides[0]] : sides
        }
        guard !stages.isEmpty, stages.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0 != nil } }) else {
            throw ValidationError("--strides: '\(text)' is not a comma-separated list of strides (2, or 2x1 for height x width)")
        }
        return stages.map { $0.map { $0! } }
    }

    /// The smp `Unet` the flags describe.
    func smpConfiguration() throws -> SMPUNetConfiguration {
        let widths = try NumberList.parse(decoderChannels, "--decoder-channels", as: Int.self)
            ?? Array([256, 128, 64, 32, 16].suffix(encoderDepth))
        return SMPUNetConfiguration(encoder: encoder, encoderDepth: encoderDepth, decoderChannels: widths, inputChannels: inChannels,
                                    classes: classes, decoderAttention: decoderAttention, decoderInterpolation: decoderInterpolation ?? .nearest)
    }

    /// The configuration the flags describe.
    func configuration() -> UNetConfiguration {
        var c = UNetConfiguration.milesial(inputChannels: inChannels, classes: classes, bilinear: bilinear, baseWidth: base, depth: depth)
        c.padding = padding
        if padding == .valid { c.merge = .crop }
        return c
    }
}

extension SMPEncoder: ExpressibleByArgument {}
extension SMPUNetConfiguration.DecoderAttention: ExpressibleByArgument {}
extension SMPUNetConfiguration.DecoderInterpolation: ExpressibleByArgument {}
extension MONAINorm: ExpressibleByArgument {}
extension MONAIActivation: ExpressibleByArgument {}
