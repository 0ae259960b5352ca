import ArgumentParser
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
    @Flag(help: "Match the checkpoint's tensors to the architecture by role and shape, in order.")
    var matchByShape = false
    @Option(help: ArgumentHelp("Rename checkpoint keys with regex rules, one 'PATTERN => REPLACEMENT' per line.",
                               valueName: "file"))
    var map: String?

    /// True when any architecture flag was given.
    var describesArchitecture: Bool {
        layout != nil || inChannels != nil || classes != nil || base != nil || depth != nil || concat != nil
            || batchNorm != nil || bias != nil || bilinear
    }

    func validate() throws {
        if matchByShape && !describesArchitecture {
            throw ValidationError("--match-by-shape needs the architecture: --layout, --in-channels, --classes, --base, --depth, ...")
        }
        for (name, value) in [("--in-channels", inChannels), ("--classes", classes), ("--base", base), ("--depth", depth)] {
            if let value, value <= 0 { throw ValidationError("\(name) must be positive, got \(value)") }
        }
    }

    /// The options for `ModelFile.load`.
    func loadOptions() throws -> ModelLoadOptions {
        var options = ModelLoadOptions(padding: padding, merge: merge, matchByShape: matchByShape)
        if let map { options.keyMapping = try KeyMapping(path: map) }
        if describesArchitecture {
            var c: UNetConfiguration =
                switch layout ?? .milesial {
                case .milesial: .milesial(bilinear: bilinear)
                case .labml: .labml()
                case .tutorial: .tutorial()
                }
            if bilinear { c.upsampling = .bilinear }
            c.inputChannels = inChannels ?? c.inputChannels
            c.classes = classes ?? c.classes
            c.baseWidth = base ?? c.baseWidth
            c.depth = depth ?? c.depth
            c.padding = padding ?? c.padding
            c.merge = merge ?? c.merge
            c.concatOrder = concat ?? c.concatOrder
            c.batchNorm = batchNorm ?? c.batchNorm
            c.convolutionBias = bias ?? c.convolutionBias
            options.architecture = c
        }
        return options
    }
}

extension UNetConfiguration.Layout: ExpressibleByArgument {}
extension UNetConfiguration.Padding: ExpressibleByArgument {}
extension UNetConfiguration.SkipMerge: ExpressibleByArgument {}
extension UNetConfiguration.ConcatOrder: ExpressibleByArgument {}
