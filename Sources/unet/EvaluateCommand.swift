import ArgumentParser
import Datasets
import Distributed
import Files
import Foundation
import Inference
import Evaluation
import Models
import Workflows

/// `unet evaluate`: the standard segmentation metrics of a model on image/mask folders, or of predicted masks
/// against ground truth.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model (or predicted masks) against ground-truth masks.",
        discussion: """
            With -m MODEL --images DIR --masks DIR, predicts every image and scores it; with --predictions DIR \
            --masks DIR --classes N, scores mask files written earlier (class-index PNGs, or the ground truth's own \
            values). Pixel accuracy, mean class accuracy, IoU, Dice, precision and recall per class, their means and \
            the confusion matrix. A class absent from both prediction and ground truth is left out of the means \
            (segmentation_models_pytorch, MONAI); --empty-class one scores it 1 instead. Under mpirun the ranks \
            share the images and rank 0 reports the metrics of them all.
            """)

    @Option(name: [.short, .long], help: ArgumentHelp("The model (.safetensors or .pth).", valueName: "file")) var model: String?
    @Option(help: ArgumentHelp("Folder of predicted masks, matched to --masks by stem (instead of a model).", valueName: "dir"))
    var predictions: String?
    @OptionGroup var data: DataOptions
    @Option(help: ArgumentHelp("How to score a class absent from both prediction and truth.", valueName: "exclude|one"))
    var emptyClass: SegmentationMetrics.EmptyClass = .exclude
    @Flag(help: "Print one JSON object instead of the table.") var json = false
    @Option(help: ArgumentHelp("Also write the JSON object to this file.", valueName: "file")) var output: String?
    @OptionGroup(title: "Prediction (with a model)") var prediction: PredictionFlags
    @OptionGroup(title: "Foreign checkpoints; --classes also sets the class count of --predictions") var modelOptions: ModelOptions

    func validate() throws {
        guard (model == nil) != (predictions == nil) else { throw ValidationError("give either --model or --predictions") }
        if predictions != nil {
            guard data.masks != nil else { throw ValidationError("--predictions needs --masks") }
            guard let classes = modelOptions.classes else { throw ValidationError("--predictions needs --classes") }
            guard classes >= 1 else { throw ValidationError("--classes must be positive") }
        } else if !data.namesPairs {
            throw ValidationError("give --images and --masks, or --list")
        }
    }

    func run() throws {
        prediction.runtime.apply()
        try CLIError.reporting {
            let (metrics, names, images, read) = try predictions != nil ? scorePredictions() : scoreModel()
            if let output, let input = read.first(where: { FileIdentity.same($0, output) }) {
                throw CLIError(description: "--output: \(output) would replace the input \(input)")
            }
            guard ProcessGroup.world.isPrimary else { return }
            try report(metrics, names: names, images: images)
        }
    }

    private func scorePredictions() throws -> (SegmentationMetrics, [String], Int, read: [String]) {
        let classes = modelOptions.classes!
        let (pairs, problems) = try data.pairs(images: predictions)
        let table = try data.classTable()
        let matrix = try MaskComparison.confusion(pairs, classes: classes, table: table, ignoreValue: data.ignoreIndex,
                                                  problems: problems)
        let labels = table.map { names(of: $0) } ?? (0..<max(classes, 2)).map { "\($0)" }
        return (SegmentationMetrics(matrix, emptyClass: emptyClass), labels, pairs.count, Self.files(pairs))
    }

    private func scoreModel() throws -> (SegmentationMetrics, [String], Int, read: [String]) {
        let loaded = try modelOptions.load(model!)
        let c = loaded.model.architecture
        let (pairs, problems) = try data.pairs()
        let table = try data.classTable() ?? loaded.metadata.maskValues.flatMap { try? ClassTable(values: $0) }
        var options = DatasetOptions(inputChannels: c.inputChannels, classes: c.classes, maskEncoding: data.maskEncoding,
                                     classTable: table, ignoreValue: data.ignoreIndex)
        options.completesScannedTable = table == nil
        let dataset = try SegmentationDataset.open(pairs, options: options, problems: problems)
        let segmenter = try ImageSegmenter(model: loaded.model, ensemble: loaded.ensemble, options: prediction.options(loaded.metadata),
                                           preprocessing: prediction.preprocessing(loaded), threshold: prediction.maskThreshold)
        let group = ProcessGroup.world
        let share = group.share(of: dataset.count)
        let progress = ProgressDisplay(quiet: !group.isPrimary)
        let start = Date()
        let matrix = try segmenter.confusion(on: dataset, indices: share) { index, _ in
            let done = index - share.lowerBound + 1
            progress.update(fraction: Double(done) / Double(share.count), label: "image \(done)/\(share.count)",
                            details: (dataset.samples[index].image as NSString).lastPathComponent)
        }.summed(over: group)
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        if !json, group.isPrimary {
            Console.out(String(format: "predicted %d images in %.1f s (%.2f images/s)", dataset.count, seconds, Double(dataset.count) / seconds)
                + (group.worldSize > 1 ? " on \(group.worldSize) ranks" : ""))
        }
        return (SegmentationMetrics(matrix, emptyClass: emptyClass), names(of: dataset.table), dataset.count,
                Self.files(pairs) + [model!])
    }

    /// Every file the pairs name.
    private static func files(_ pairs: [SamplePaths]) -> [String] {
        pairs.flatMap { [$0.image, $0.mask] + ($0.region.map { [$0] } ?? []) }
    }

    private func names(of table: ClassTable) -> [String] {
        table.values.map { $0.count == 1 ? "\($0[0])" : "(\($0.map(String.init).joined(separator: ",")))" }
    }

    private func report(_ metrics: SegmentationMetrics, names: [String], images: Int) throws {
        let text = try MetricsJSON.text(metrics, names: names, images: images)
        if let output { try AtomicFile.write(text + "\n", to: output) }
        if json {
            Console.out(text)
        } else {
            Console.out("\(images) image\(images == 1 ? "" : "s"), \(metrics.confusionMatrix.joined().reduce(0, +)) pixels scored")
            for line in MetricsTable.lines(metrics, names: names) { Console.out(line) }
        }
    }
}

extension SegmentationMetrics.EmptyClass: ExpressibleByArgument {}
