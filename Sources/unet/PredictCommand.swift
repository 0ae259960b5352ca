import ArgumentParser
import Checkpoints
import Datasets
import Distributed
import Execution
import Foundation
import ImageIO
import Inference
import Models
import Reports
import Tensors
import Workflows

/// `unet predict`: masks for images of any size (milesial's `predict.py`, natively).
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict masks for images of any size.",
        discussion: """
            The model is a native .safetensors file or a PyTorch .pth (milesial, labml and tutorial layouts are \
            detected). Masks are written in the training masks' own values by default (--mask-format). Whole images \
            are predicted at once; --tile predicts in windows (Gaussian-weighted sliding window for same padding, \
            the exact overlap-tile strategy with mirrored borders for valid padding), which bounds memory by the tile.
            """)

    @Option(name: [.short, .long], help: ArgumentHelp("The model (.safetensors or .pth).", valueName: "file"))
    var model = "MODEL.pth"
    @Option(name: [.short, .long], parsing: .upToNextOption, help: ArgumentHelp("Images or folders of images.", valueName: "path"))
    var input: [String] = []
    @Option(name: [.short, .long], parsing: .upToNextOption,
            help: ArgumentHelp("Mask files (one per image) or a folder (default: <stem>_OUT.png beside each image).", valueName: "path"))
    var output: [String] = []
    @Flag(name: [.short, .customLong("viz")], help: "Also write <mask>_overlay.png: the image with the classes tinted.")
    var viz = false
    @Flag(name: [.short, .customLong("no-save")], help: "Do not write the masks.") var noSave = false
    @Option(help: ArgumentHelp("Resize every image to N or WxH before prediction (the lab's 572); masks return to the image size.",
                               valueName: "size"))
    var size: String?
    @Option(help: "Windows (or flipped copies) per forward pass.") var batchSize = 4
    @Option(help: ArgumentHelp("Mask pixel values: the training masks' values, class indices, or VOC colours.",
                               valueName: "values|indices|palette"))
    var maskFormat: MaskRenderer.Format = .values
    @Flag(help: "Draw class contours on the overlay.") var contours = false
    @Flag(help: "Also write <mask>_side.png: the image beside the coloured mask.") var sideBySide = false
    @Flag(help: "Also write <mask>.npy: float32 (C, H, W) probabilities at the image's size.") var saveProbabilities = false
    @Option(help: ArgumentHelp("Per-channel mean to subtract after scaling to [0, 1] (default: the model's).", valueName: "values"))
    var mean: String?
    @Option(help: ArgumentHelp("Per-channel standard deviation (default: the model's).", valueName: "values")) var std: String?
    @OptionGroup(title: "Prediction") var prediction: PredictionFlags
    @OptionGroup(title: "Foreign checkpoints") var modelOptions: ModelOptions

    func validate() throws {
        guard !input.isEmpty else { throw ValidationError("--input: give at least one image or folder") }
        if prediction.scale != nil && size != nil { throw ValidationError("--scale and --size exclude each other") }
        if let size {
            guard let (width, height) = try parsedSize() else { throw ValidationError("--size: '\(size)' is not N or WxH") }
            let limit = prediction.runtime.maxPixels
            guard width <= 65536, height <= 65536, width * height <= limit else {
                throw ValidationError("--size: \(width)x\(height) is more than --max-pixels (\(limit)) allows")
            }
        }
        try FlagRange.check(batchSize, "--batch-size", in: 1...1024)
        try FlagRange.each(try NumberList.parse(mean, "--mean"), "--mean", { $0.isFinite }, "finite")
        try FlagRange.each(try NumberList.parse(std, "--std"), "--std", { $0.isFinite && $0 > 0 }, "positive and finite")
        if noSave && !viz && !sideBySide && !saveProbabilities {
            throw ValidationError("--no-save without --viz, --side-by-side or --save-probabilities writes nothing")
        }
    }

    private func parsedSize() throws -> (width: Int, height: Int)? {
        size.flatMap(SizeFlag.parse)
    }

    func run() throws {
        prediction.runtime.apply()
        try CLIError.reporting { try predict() }
    }

    private func predict() throws {
        // Where everything goes is settled first: no output may be an input, the model, or another's output.
        let targets = try PredictionTargets(inputs: input, outputs: output, model: model,
                                            writes: writtenKinds)
        let loaded = try modelOptions.load(model)
        let segmenter = try ImageSegmenter(model: loaded.model, ensemble: loaded.ensemble, options: predictionOptions(loaded.metadata), preprocessing: try preprocessing(loaded),
                                           threshold: prediction.maskThreshold)
        let table = loaded.metadata.maskValues.flatMap { try? ClassTable(values: $0) }
        // Under mpirun each rank segments its share of the images; rank 0 reports the missing inputs and the total.
        let group = ProcessGroup.world
        let progress = ProgressDisplay(quiet: !group.isPrimary)
        let share = Array(targets.targets[group.share(of: targets.targets.count)])
        var failures = group.isPrimary ? targets.missing : []
        for line in failures { progress.message("error: \(line)") }
        let start = Date()
        var done = 0
        for (index, target) in share.enumerated() {
            let label = "image \(index + 1)/\(share.count)"
            segmenter.predictor.onProgress = { windows, total in
                guard total > 1 else { return }
                progress.update(fraction: (Double(index) + Double(windows) / Double(total)) / Double(share.count),
                                label: label, details: "\((target.input as NSString).lastPathComponent) window \(windows)/\(total)")
            }
            progress.update(fraction: Double(index) / Double(share.count), label: label,
                            details: (target.input as NSString).lastPathComponent)
            do {
                try write(try segmenter.segment(path: target.input, probabilities: saveProbabilities), target, table: table,
                          classes: loaded.model.architecture.classes)
                done += 1
            } catch {
                if group.isPrimary { progress.message("error: \(error)") } else { Console.error("error: rank \(group.rank): \(error)") }
                failures.append("\(error)")
            }
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        var totals: [Int64] = [Int64(done), Int64(failures.count)]
        try group.allReduce(&totals, .sum)
        if group.isPrimary {
            let all = Int(totals[0])
            Console.out(String(format: "predicted %d image%@ in %.1f s (%.2f images/s)", all, all == 1 ? "" : "s", seconds,
                               Double(all) / max(seconds, 1e-9)) + (group.worldSize > 1 ? " on \(group.worldSize) ranks" : ""))
        }
        if totals[1] > 0 {
            guard group.isPrimary else { throw ExitCode.failure }  // rank 0 says it; each rank named its own failures
            let elsewhere = Int(totals[1]) - failures.count
            throw CLIError(description: "\(totals[1]) input(s) failed:\n" + failures.map { "  \($0)" }.joined(separator: "\n")
                + (elsewhere > 0 ? "\n  and \(elsewhere) on other ranks (listed above)" : ""))
        }
    }

    /// The files written for each image, as the flags ask.
    private var writtenKinds: Set<PredictionTargets.Kind> {
        var kinds: Set<PredictionTargets.Kind> = noSave ? [] : [.mask]
        if viz { kinds.insert(.overlay) }
        if sideBySide { kinds.insert(.sideBySide) }
        if saveProbabilities { kinds.insert(.probabilities) }
        return kinds
    }

    private func write(_ result: ImageSegmenter.Segmentation, _ target: PredictionTargets.Target, table: ClassTable?,
                       classes: Int) throws {
        let (width, height) = (result.image.width, result.image.height)
        if !noSave {
            try ImageWriter.writePNG(MaskRenderer.image(result.classes, width: width, height: height, format: maskFormat,
                                                        table: table, modelClasses: classes), to: target.mask)
        }
        if viz || sideBySide {
            let canvas = Overlay.canvas(result.image)
            if viz { try Overlay.blend(canvas, classes: result.classes, contours: contours).writePNG(to: target.overlay) }
            if sideBySide { try Overlay.sideBySide(canvas, classes: result.classes).writePNG(to: target.sideBySide) }
        }
        if let probabilities = result.probabilities { try NumpyArray.write(probabilities, to: target.probabilities) }
    }

    private func predictionOptions(_ metadata: ModelMetadata) -> PredictionOptions {
        var options = prediction.options(metadata)
        options.batchSize = batchSize
        return options
    }

    private func preprocessing(_ loaded: LoadedModel) throws -> ImageSegmenter.Preprocessing {
        var p = prediction.preprocessing(loaded)
        p.size = try parsedSize()
        // --mean/--std replace the model's normalization (its per-image z-score and clipping too); else it is kept as it is.
        if mean != nil || std != nil {
            let stored = loaded.metadata.normalization
            p.normalization = Normalization(mean: try NumberList.parse(mean, "--mean") ?? stored.mean,
                                            std: try NumberList.parse(std, "--std") ?? stored.std)
        }
        let channels = loaded.model.architecture.inputChannels
        for (flag, values) in [("--mean", p.normalization.mean), ("--std", p.normalization.std)] {
            if let values, values.count != channels {
                throw ValidationError("\(flag): \(values.count) values for a model of \(channels) input channel(s)")
            }
        }
        return p
    }
}

extension MaskRenderer.Format: ExpressibleByArgument {}
