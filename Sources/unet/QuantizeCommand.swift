import ArgumentParser
import Foundation
import Inference
import Models
import Workflows

/// `unet quantize MODEL --calibration DIR -o MODEL_INT8`: post-training static int8 quantization.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a model to int8 from calibration images (post-training static quantization).",
        discussion: """
            The calibration images run through the float32 model as predict runs them (the model's scale, \
            normalization and windows). Each convolution between the first and the last gets an input range by \
            --rule (the largest magnitude seen, or a percentile of the magnitudes, clipping the rest); its weights \
            are quantized per output channel to their largest magnitude when the model is compiled. The first \
            convolution, which reads the image, and the last, which writes the logits, stay in floating point \
            (float32; bf16 where the CPU has native bf16, writing float32). The output is \
            the model's native file with the int8 table in its metadata: predict, evaluate, serve and bench run it \
            in int8 (--no-int8: in float32).
            """)

    @OptionGroup var source: ModelArgument
    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Calibration images or folders of images.", valueName: "path"))
    var calibration: [String] = []
    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the int8 model (.safetensors).", valueName: "file"))
    var output: String
    @Option(help: ArgumentHelp("Calibration images used at most, evenly spaced over the sorted list.", valueName: "N"))
    var calibrationImages = 32
    @Option(help: ArgumentHelp("How each input range is chosen.", valueName: "max|percentile")) var rule: Rule = .percentile
    @Option(help: ArgumentHelp("--rule percentile: the share of magnitudes kept, in percent (50-100).", valueName: "P"))
    var percentile = Int8Calibrator.defaultPercentile
    @Option(name: [.short, .long], help: "Resize factor of the images (default: the model's training scale, or 1).")
    var scale: Double?
    @Option(help: ArgumentHelp("Calibrate in windows of N pixels (default: as predict would).", valueName: "N")) var tile: Int?
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup(title: "Foreign checkpoints") var modelOptions: ModelOptions

    enum Rule: String, ExpressibleByArgument, CaseIterable {
        case max, percentile
    }

    func validate() throws {
        guard !calibration.isEmpty else { throw ValidationError("--calibration: give at least one image or folder") }
        guard output.lowercased().hasSuffix(".safetensors") else {
            throw ValidationError("--output must end in .safetensors (the int8 table lives in its metadata), got '\(output)'")
        }
        try FlagRange.check(calibrationImages, "--calibration-images", in: 1...100_000)
        try FlagRange.check(percentile, "--percentile", in: 50...100)
        try FlagRange.positive(scale, "--scale", atMost: 1)
        try FlagRange.check(tile, "--tile", in: 8...8192)
    }

    func run() throws {
        runtime.apply()
        try CLIError.reporting { try quantize() }
    }

    private func quantize() throws {
        guard !FileIdentity.same(source.path, output) else {
            throw CLIError(description: "-o: \(output) is the model file; write the int8 model to another path")
        }
        let found = try PredictionTargets(inputs: calibration, outputs: [], model: source.path, writes: [])
        if let missing = found.missing.first { throw CLIError(description: "--calibration: \(missing)") }
        let all = found.targets.map(\.input)
        let count = min(calibrationImages, all.count)
        let images = (0..<count).map { all[$0 * all.count / count] }
        let loaded = try modelOptions.load(source.path)
        guard loaded.ensemble.isEmpty else {
            throw CLIError(description: "\(source.path) is an ensemble of \(loaded.ensemble.count + 1) folds; quantize one fold's checkpoint")
        }
        var metadata = loaded.metadata
        metadata.quantization = nil
        var options = PredictionOptions()
        (options.tile, options.tileWidth) = (tile ?? metadata.tile, tile == nil ? metadata.tileWidth : nil)
        (options.overlap, options.padsToWindow) = (metadata.overlap ?? 0.25, metadata.padsToWindow ?? false)
        let segmenter = try ImageSegmenter(model: loaded.model, options: options,
                                           preprocessing: ImageSegmenter.Preprocessing(metadata: metadata, scale: scale), threshold: 0.5)
        let calibrator = Int8Calibrator(rule: rule == .max ? .max : .percentile(percentile))
        segmenter.predictor.convolutionInputObserver = calibrator.observe
        let progress = ProgressDisplay(quiet: false)
        try calibrator.calibrate { pass in
            for (index, image) in images.enumerated() {
                progress.update(fraction: (Double(pass * images.count + index)) / Double(calibrator.passes * images.count),
                                label: "pass \(pass + 1)/\(calibrator.passes)", details: (image as NSString).lastPathComponent)
                _ = try segmenter.segment(path: image)
            }
        }
        progress.finish()
        let table = calibrator.quantization(images: images.count)
        guard !table.inputs.isEmpty else {
            throw CLIError(description: "\(source.path): the network has no convolution between its first and its last to quantize")
        }
        metadata.quantization = table
        try ModelFile.write(loaded.tensors, architecture: loaded.model.architecture, metadata: metadata, to: output)
        Console.out("calibrated \(table.inputs.count) int8 convolutions on \(images.count) image\(images.count == 1 ? "" : "s") (\(table.rule))")
        Console.out("wrote \(output)")
    }
}
