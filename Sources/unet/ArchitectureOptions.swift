import ArgumentParser
import Models

/// The architecture of a new network for `unet train`: milesial's classic U-Net with its defaults (valid padding
/// crops the skips, as the paper does), or segmentation_models_pytorch's `Unet` with a ResNet encoder and smp's
/// defaults.
struct ArchitectureOptions: ParsableArguments {
    enum Family: String, ExpressibleByArgument, CaseIterable {
        case unet
        case smpUNet = "smp-unet"
    }

    @Option(help: ArgumentHelp("The network: a classic U-Net, or smp's Unet with a ResNet encoder.", valueName: "unet|smp-unet"))
    var arch: Family = .unet
    @Option(name: [.short, .long], help: "Classes (1 for a binary model with a sigmoid).") var classes = 2
    @Flag(help: "Bilinear up-sampling instead of transposed convolutions.") var bilinear = false
    @Option(help: "Input channels (1 gray, 3 RGB).") var inChannels = 3
    @Option(help: "Base width.") var base = 64
    @Option(help: "Number of down-samplings.") var depth = 4
    @Option(help: ArgumentHelp("3x3 convolution padding.", valueName: "same|valid")) var padding: UNetConfiguration.Padding = .same
    @Option(help: ArgumentHelp("smp-unet: the encoder.", valueName: "resnet18|resnet34|resnet50")) var encoder: ResNetEncoder.Variant = .resnet34
    @Option(help: "smp-unet: encoder stages the decoder uses (1-5).") var encoderDepth = 5
    @Option(help: ArgumentHelp("smp-unet: decoder block widths, deepest first, one per stage (default: 256,128,64,32,16, "
        + "the last --encoder-depth of them).", valueName: "widths")) var decoderChannels: String?

    func validate() throws {
        try FlagRange.check(classes, "--classes", in: 1...UNetConfiguration.maximumChannels)
        try FlagRange.check(inChannels, "--in-channels", in: 1...UNetConfiguration.maximumChannels)
        try FlagRange.check(base, "--base", in: 1...4096)
        try FlagRange.check(depth, "--depth", in: 1...8)
        try FlagRange.check(encoderDepth, "--encoder-depth", in: 1...5)
        if arch == .smpUNet {
            do { try smpConfiguration().validate() } catch let error as UNetError {
                throw ValidationError("--encoder-depth/--decoder-channels/--in-channels/--classes: \(error)")
            }
        }
    }

    /// The architecture the flags describe.
    func architecture() throws -> Architecture {
        arch == .smpUNet ? .smpUNet(try smpConfiguration()) : .unet(configuration())
    }

    /// The smp `Unet` the flags describe.
    func smpConfiguration() throws -> SMPUNetConfiguration {
        let widths = try NumberList.parse(decoderChannels, "--decoder-channels", as: Int.self)
            ?? Array([256, 128, 64, 32, 16].suffix(encoderDepth))
        return SMPUNetConfiguration(encoder: encoder, encoderDepth: encoderDepth, decoderChannels: widths, inputChannels: inChannels,
                                    classes: classes)
    }

    /// The configuration the flags describe.
    func configuration() -> UNetConfiguration {
        var c = UNetConfiguration.milesial(inputChannels: inChannels, classes: classes, bilinear: bilinear, baseWidth: base, depth: depth)
        c.padding = padding
        if padding == .valid { c.merge = .crop }
        return c
    }
}

extension ResNetEncoder.Variant: ExpressibleByArgument {}
