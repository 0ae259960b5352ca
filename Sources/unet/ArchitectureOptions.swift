import ArgumentParser
import Models

/// The architecture of a new U-Net for `unet train`: milesial's layout with its defaults; valid padding crops the
/// skips, as the paper does.
struct ArchitectureOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Classes (1 for a binary model with a sigmoid).") var classes = 2
    @Flag(help: "Bilinear up-sampling instead of transposed convolutions.") var bilinear = false
    @Option(help: "Input channels (1 gray, 3 RGB).") var inChannels = 3
    @Option(help: "Base width.") var base = 64
    @Option(help: "Number of down-samplings.") var depth = 4
    @Option(help: ArgumentHelp("3x3 convolution padding.", valueName: "same|valid")) var padding: UNetConfiguration.Padding = .same

    func validate() throws {
        try FlagRange.check(classes, "--classes", in: 1...UNetConfiguration.maximumChannels)
        try FlagRange.check(inChannels, "--in-channels", in: 1...UNetConfiguration.maximumChannels)
        try FlagRange.check(base, "--base", in: 1...4096)
        try FlagRange.check(depth, "--depth", in: 1...8)
    }

    /// The configuration the flags describe.
    func configuration() -> UNetConfiguration {
        var c = UNetConfiguration.milesial(inputChannels: inChannels, classes: classes, bilinear: bilinear, baseWidth: base, depth: depth)
        c.padding = padding
        if padding == .valid { c.merge = .crop }
        return c
    }
}
