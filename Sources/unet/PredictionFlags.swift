import ArgumentParser
import Datasets
import Graph
import Inference
import Models
import Workflows

/// How a model predicts, shared by `unet predict` and `unet evaluate`: resizing, threshold, windows, flips,
/// precision and threads.
struct PredictionFlags: ParsableArguments {
    @Option(name: [.short, .long], help: "Resize factor of the images (default: the model's training scale, or 1).")
    var scale: Double?
    @Option(name: [.customShort("t"), .customLong("mask-threshold")], help: "Probability above which a one-class model marks a pixel.")
    var maskThreshold: Float = 0.5
    @Option(help: ArgumentHelp("Predict in windows of N pixels (default: whole images; automatic above 2048x2048).", valueName: "N"))
    var tile: Int?
    @Option(help: "Fraction of a window shared with its neighbour, 0 to 0.9 (default: the model's, or 0.25).") var overlap: Double?
    @Option(help: ArgumentHelp("Window weighting where windows overlap.", valueName: "gaussian|constant")) var blend: Blending = .gaussian
    @Flag(inversion: .prefixedNo, help: "Test-time augmentation: average over horizontal and vertical flips (default: the model's, or off).")
    var tta: Bool?
    @Flag(help: "Mixed precision where the CPU has native bf16: bf16 convolutions (levels in fp32 Winograd where faster); elsewhere fp32, with a warning.") var amp = false
    @Flag(help: "Run a quantized model (unet quantize) in float32 instead of int8.") var noInt8 = false
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        try FlagRange.positive(scale, "--scale", atMost: 1)
        try FlagRange.check(maskThreshold, "--mask-threshold", in: 0...1)
        if let overlap { try FlagRange.check(overlap, "--overlap", in: 0...0.9) }
        try FlagRange.check(tile, "--tile", in: 8...8192)
    }

    /// The options the flags give, with the model's own defaults (`ModelMetadata`: an nnU-Net folder's patch, half
    /// overlap and mirroring) where a flag is not given.
    func options(_ metadata: ModelMetadata = ModelMetadata()) -> PredictionOptions {
        var o = PredictionOptions()
        (o.tile, o.tileWidth, o.blending) = (tile ?? metadata.tile, tile == nil ? metadata.tileWidth : nil, blend)
        (o.overlap, o.flips) = (overlap ?? metadata.overlap ?? 0.25, tta ?? metadata.flips ?? false)
        o.padsToWindow = metadata.padsToWindow ?? false
        o.precision = MixedPrecision.precision(amp: amp)
        o.quantization = noInt8 || o.precision != .fp32 ? nil : metadata.quantization
        return o
    }

    /// The model's own preprocessing (training scale, normalisation, nnU-Net's crop), with `--scale` taking precedence.
    func preprocessing(_ loaded: LoadedModel) -> ImageSegmenter.Preprocessing {
        ImageSegmenter.Preprocessing(metadata: loaded.metadata, scale: scale)
    }
}

extension Blending: ExpressibleByArgument {}
