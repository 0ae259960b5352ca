import ArgumentParser
import DNNL
import Datasets
import Files
import Foundation
import Graph
import ImageIO
import Inference
import Evaluation
import Models
import Reports
import Tensors
import Training
import Workflows

/// `unet demo` (what `make demo` runs): the whole product on a generated task, with nothing to download.
/// Generates discs, squares and triangles on textured backgrounds, trains a U-Net on them, scores it on
/// held-out images, and writes the model, the metrics, the training curves and overlays to `--output-dir`.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Generate a dataset, train a U-Net on it, evaluate and predict: the whole product in minutes.",
        discussion: """
            The generated task: RGB images of textured, noisy backgrounds with discs, squares and triangles of \
            random colours (colour says nothing about the class). Everything goes to --output-dir: data/ (the \
            generated images and colour masks), best.safetensors and last.safetensors, metrics.json (the \
            held-out metrics, as unet evaluate --json), training_curves.png, predictions/ (masks and overlays).
            """)

    @Option(help: "Training steps.") var steps = 1000
    @Option(help: "Generated training images.") var trainImages = 400
    @Option(help: "Generated held-out images (validation and the final score).") var testImages = 48
    @Option(help: "Image side in pixels (a multiple of 16).") var size = 96
    @Option(help: "Base width of the U-Net.") var base = 16
    @Option(name: [.short, .long], help: "Batch size.") var batchSize = 8
    @Option(name: [.short, .long], help: "Learning rate (Adam, cosine decay).") var learningRate: Float = 2e-3
    @Flag(help: "bf16 mixed precision where the CPU has native bf16 (elsewhere fp32, with a warning).") var amp = false
    @Option(help: "Random seed (data, weights, augmentation).") var seed: UInt64 = 0
    @OptionGroup var runtime: RuntimeOptions
    @Option(help: ArgumentHelp("Where everything is written (a folder holding another run is refused; an earlier demo's is replaced).",
                               valueName: "dir"))
    var outputDir = "runs/demo"

    func validate() throws {
        try FlagRange.check(steps, "--steps", in: 1...10_000_000)
        try FlagRange.check(trainImages, "--train-images", in: 1...100_000)
        try FlagRange.check(testImages, "--test-images", in: 1...100_000)
        try FlagRange.check(batchSize, "--batch-size", in: 2...1024)
        try FlagRange.check(base, "--base", in: 1...256)
        try FlagRange.positive(learningRate, "--learning-rate", atMost: 10)
        guard trainImages >= batchSize else { throw ValidationError("--train-images must be at least --batch-size") }
        guard (32...1024).contains(size), size % 16 == 0 else {
            throw ValidationError("--size must be a multiple of 16 in 32...1024, got \(size)")
        }
    }

    func run() throws {
        runtime.apply()
        try CLIError.reporting { try demo() }
    }

    private func path(_ name: String) -> String { (outputDir as NSString).appendingPathComponent(name) }

    /// Prints a line at once, so that it lands in order with the progress lines on standard error.
    private func say(_ line: String) {
        Console.out(line)
    }

    private func demo() throws {
        // An earlier demo's folder (its metrics.json and data/) is replaced; any other run in it is refused.
        let earlierDemo = FileManager.default.fileExists(atPath: path("metrics.json"))
            && FileManager.default.fileExists(atPath: path("data/train"))
        let runDirectory = try RunDirectory(path: outputDir, mode: earlierDemo ? .overwrite : .new)
        let progress = ProgressDisplay()
        say("unet demo: segment discs, squares and triangles on textured backgrounds (\(size)x\(size) RGB)")
        // 1. The data, written as files and read back through the same pipeline as a user's folders.
        let train = try ShapesDataset.write(to: path("data/train"), count: trainImages, size: size, seed: seed)
        let test = try ShapesDataset.write(to: path("data/test"), count: testImages, size: size, seed: seed &+ 1)
        let options = DatasetOptions(inputChannels: 3, classes: ShapesDataset.classNames.count)
        let trainSet = try SegmentationDataset.open(SampleDiscovery.pairFolders(images: train.images, masks: train.masks).pairs,
                                                    options: options)
        var testOptions = options
        testOptions.classTable = trainSet.table
        let testSet = try SegmentationDataset.open(SampleDiscovery.pairFolders(images: test.images, masks: test.masks).pairs,
                                                   options: testOptions)
        say("data: \(trainImages) training and \(testImages) held-out images in \(path("data")); class table \(trainSet.table)")

        // 2. Train: Adam with cosine decay, Dice + cross-entropy, flips and rotations.
        var g = SeededGenerator(seed: seed)
        let configuration = UNetConfiguration.milesial(inputChannels: 3, classes: ShapesDataset.classNames.count, baseWidth: base)
        let model = try UNet(configuration, generator: &g)
        var o = TrainingOptions()
        (o.steps, o.learningRate, o.optimizer, o.momentum) = (steps, learningRate, .adam, 0.9)
        (o.schedule, o.weightDecay, o.gradientClipping, o.bestMetric) = (.cosine, 0, nil, .miou)
        (o.precision, o.seed, o.validateEvery) = (MixedPrecision.precision(amp: amp), seed, max(steps / 5, 1))
        var augmentation = Augmentation()
        (augmentation.flips, augmentation.rotate90) = (true, true)
        let loader = BatchLoader(dataset: trainSet, indices: Array(0..<trainSet.count), batchSize: batchSize,
                                 augmentation: augmentation, shuffle: true, seed: seed, dropLast: true)
        let metadata = ModelMetadata(maskValues: trainSet.table.values, classNames: ShapesDataset.classNames, scale: 1)
        let trainer = try Trainer(model: model, metadata: metadata, options: o, loader: loader,
                                  validation: (testSet, Array(0..<testSet.count)), runDirectory: runDirectory)
        say("model: \(configuration), \(model.trainableParameters.reduce(0) { $0 + $1.value.count }) parameters; "
              + "\(steps) steps of \(batchSize) on \(Threads.count) threads")
        TrainingReporter.attach(trainer, to: progress)
        let start = Date()
        try trainer.run()
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        try TrainingCurves.write(metricsLog: path("metrics.jsonl"), to: path("training_curves.png"))

        // 3. Score the best model on the held-out images, and draw its predictions.
        let best = try ModelFile.load(path: trainer.bestCheckpoint)
        let segmenter = try ImageSegmenter(model: best.model, options: PredictionOptions(), preprocessing: .init())
        try FileContents.createFolder(path("predictions"))
        let confusion = try segmenter.confusion(on: testSet) { index, result in
            guard index < 8 else { return }
            let stem = ((testSet.samples[index].image as NSString).lastPathComponent as NSString).deletingPathExtension
            let canvas = Overlay.canvas(result.image)
            try Overlay.blend(canvas, classes: result.classes, contours: true).writePNG(to: path("predictions/\(stem)_overlay.png"))
            try ImageWriter.writePNG(MaskRenderer.image(result.classes, width: size, height: size, format: .values,
                                                        table: trainSet.table, modelClasses: configuration.classes),
                                     to: path("predictions/\(stem).png"))
        }
        let metrics = SegmentationMetrics(confusion)
        try AtomicFile.write(try MetricsJSON.text(metrics, names: ShapesDataset.classNames, images: testSet.count) + "\n",
                             to: path("metrics.json"))

        say(String(format: "trained in %.0f s; held-out images: %d", seconds, testSet.count))
        for line in MetricsTable.lines(metrics, names: ShapesDataset.classNames) { say(line) }
        say("""
            wrote:
              \(trainer.bestCheckpoint)   the model with the best held-out mIoU (\(trainer.lastCheckpoint): the last step)
              \(path("metrics.json"))   held-out metrics (the keys of unet evaluate --json)
              \(path("training_curves.png"))   loss, validation Dice and mIoU, learning rate
              \(path("predictions"))/   masks and overlays of held-out images
              \(path("data"))/   the generated images and colour masks
            next: unet predict -m \(trainer.bestCheckpoint) -i \(test.images) -o predictions --viz
            """)
    }
}
