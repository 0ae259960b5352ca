import ArgumentParser
import Distributed
import Models

/// How to read a model file: nothing for native files and milesial / labml / tutorial checkpoints; the
/// architecture plus `--match-by-shape`, or `--map`, for any other U-Net.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Key layout of the architecture to build (with --match-by-shape or architecture flags).",
                               valueName: "milesial|labml|tutorial"))
    var layout: UNetConfiguration.Layout?
    @Option(help: "Input channels of the architecture.") var inChannels: Int?
    @Option(help: "Classes (output channels) of the architecture.") var classes: Int?
    @Option(help: "Base width (channels of the first level).") var base: Int?
    @Option(help: "Number of down-samplings.") var depth: Int?
    @Option(help: ArgumentHelp("3x3 convolution padding (tutorial checkpoints cannot tell).", valueName: "same|valid"))
    var padding: UNetConfiguration.Padding?
    @Option(help: ArgumentHelp("Skip merge: pad the up-sampled map or crop the skip.", valueName: "pad|crop"))
    var merge: UNetConfiguration.SkipMerge?
    @Option(help: ArgumentHelp("Concatenation order.", valueName: "skip-first|upsampled-first"))
    var concat: UNetConfiguration.ConcatOrder?
    @Flag(inversion: .prefixedNo, help: "Batch norm after each 3x3 convolution.") var batchNorm: Bool?
    @Flag(inversion: .prefixedNo, help: "Bias on the 3x3 convolutions.") var bias: Bool?
    @Flag(help: "Bilinear up-sampling instead of transposed convolutions.") var bilinear = false
    @Option(help: ArgumentHelp("A MONAI UNet's strides, one per level above the bottom, which its checkpoints do not record "
        + "(default: 2, or 1 where residual units show it).", valueName: "strides"))
    var strides: String?
    @Option(help: ArgumentHelp("A MONAI UNet's or BasicUNet's norm where its checkpoint has no norm parameters: instance "
        + "(without affine parameters, the default) or none (norm=None); else it must be the one the keys show.",
        valueName: "instance|none"))
    var norm: MONAINorm?
    @Option(help: ArgumentHelp("A MONAI UNet's or BasicUNet's activation (MONAI's act) where it has no parameters, which its "
        + "checkpoint does not show (default: BasicUNet's leakyrelu:0.1; a MONAI UNet without PReLU weights needs it).",
        valueName: MONAIActivation.choices))
    var act: MONAIActivation?
    @Option(help: ArgumentHelp("An smp Unet's decoder up-sampling (smp's decoder_interpolation), which its .pth does not record "
        + "(default: nearest, smp's).", valueName: "nearest|bilinear"))
    var decoderInterpolation: SMPUNetConfiguration.DecoderInterpolation?
    @Flag(help: "Match the checkpoint's tensors to the architecture by role and shape, in order.")
    var matchByShape = false
    @Option(help: ArgumentHelp("Rename checkpoint keys with regex rules, one 'PATTERN => REPLACEMENT' per line.",
                               valueName: "file"))
    var map: String?

    /// The architecture flags given, each nil when not.
    /// - Throws: `ValidationError` for `--strides` that are not numbers of 1...4.
    func overrides() throws -> ArchitectureOverrides {
        let strides = try NumberList.parse(strides, "--strides", as: Int.self)
        if let strides, !strides.allSatisfy({ (1...4).contains($0) }) {
            throw ValidationError("--strides \(self.strides ?? ""): each stride is 1...4")
        }
        return ArchitectureOverrides(layout: layout, inputChannels: inChannels, classes: classes, baseWidth: base, depth: depth,
                                     padding: padding, merge: merge, concatOrder: concat, batchNorm: batchNorm,
                                     convolutionBias: bias, upsampling: bilinear ? .bilinear : nil, strides: strides,
                                     norm: norm, activation: act, decoderInterpolation: decoderInterpolation)
    }

    func validate() throws {
        let overrides = try overrides()
        if matchByShape && overrides.isEmpty {
            throw ValidationError("--match-by-shape needs the architecture: --layout, --in-channels, --classes, --base, --depth, ...")
        }
        try FlagRange.check(inChannels, "--in-channels", in: 1...UNetConfiguration.maximumChannels)
        try FlagRange.check(classes, "--classes", in: 1...UNetConfiguration.maximumChannels)
        try FlagRange.check(base, "--base", in: 1...UNetConfiguration.maximumChannels)
        try FlagRange.check(depth, "--depth", in: 1...8)
    }

    /// `ModelFile.load` of `path` with these options, printing on standard error (rank 0's, under mpirun) what loading
    /// assumed (`LoadedModel.assumptions`).
    func load(_ path: String) throws -> LoadedModel {
        let loaded = try ModelFile.load(path: path, options: try loadOptions())
        if ProcessGroup.world.isPrimary { for line in loaded.assumptions { Console.error("note: \(line)") } }
        return loaded
    }

    /// The options for `ModelFile.load`: the flags given, which complete a foreign checkpoint's architecture and
    /// must agree with a native file's.
    func loadOptions() throws -> ModelLoadOptions {
        var options = ModelLoadOptions(overrides: try overrides(), matchByShape: matchByShape)
        if let map { options.keyMapping = try KeyMapping(path: map) }
        return options
    }
}

extension UNetConfiguration.Layout: ExpressibleByArgument {}
extension UNetConfiguration.Padding: ExpressibleByArgument {}
extension UNetConfiguration.SkipMerge: ExpressibleByArgument {}
extension UNetConfiguration.ConcatOrder: ExpressibleByArgument {}
