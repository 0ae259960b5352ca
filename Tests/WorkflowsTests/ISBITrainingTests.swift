import Datasets
import Foundation
import Inference
import Models
import Tensors
import TestSupport
import Testing
import Training
import Workflows

/// A short training on the real ISBI 2012 membrane images (the U-Net paper's data) from `../shared`: the CI
/// version of the README's ISBI run. Skipped without the shared data.
@Suite("ISBI 2012 membranes: a short real training", .enabled(if: SharedData.isAvailable, SharedData.skipReason))
struct ISBITrainingTests {
    static func pairs(_ ids: [Int]) -> [SamplePaths] {
        ids.map { SamplePaths(image: SharedData.path("data/isbi2012-membrane/train/image/\($0).png"),
                              mask: SharedData.path("data/isbi2012-membrane/train/label/\($0).png")) }
    }

    /// Trained once for the suite: base 8, 128x128 crops with flips and rotations, Adam + cosine, Dice + CE.
    nonisolated(unsafe) static let run: Result<(trainer: Trainer, losses: [Float]), Error> = Result {
        let options = DatasetOptions(inputChannels: 1, classes: 2)
        let train = try SegmentationDataset.open(pairs(Array(0..<8)), options: options)
        let validation = try SegmentationDataset.open(pairs([24, 25]), options: options)
        var g = SeededGenerator(seed: 1)
        let model = try UNet(.milesial(inputChannels: 1, classes: 2, baseWidth: 8, depth: 4), generator: &g)
        var o = TrainingOptions()
        (o.steps, o.learningRate, o.optimizer, o.momentum) = (80, 3e-3, .adam, 0.9)
        (o.schedule, o.weightDecay, o.gradientClipping, o.validateEvery) = (.cosine, 0, nil, 80)
        var augmentation = Augmentation()
        (augmentation.crop, augmentation.flips, augmentation.rotate90) = (128, true, true)
        let loader = BatchLoader(dataset: train, indices: Array(0..<8), batchSize: 4, augmentation: augmentation,
                                 shuffle: true, seed: 1, dropLast: true)
        let output = try SyntheticData.temporaryFolder("unet-isbi")
        defer { try? FileManager.default.removeItem(at: output) }
        let trainer = try Trainer(model: model, metadata: ModelMetadata(maskValues: train.table.values), options: o,
                                  loader: loader, validation: (validation, [0, 1]), outputDirectory: output.path)
        final class Box: @unchecked Sendable { var losses: [Float] = [] }
        let box = Box()
        trainer.onEvent = { if case .step(let r) = $0 { box.losses.append(r.loss) } }
        try trainer.run()
        return (trainer, box.losses)
    }

    @Test("the loss falls and validation mIoU and membrane Dice rise well above chance")
    func learns() throws {
        let (trainer, losses) = try Self.run.get()
        let early = losses.prefix(10).reduce(0, +) / 10
        let late = losses.suffix(10).reduce(0, +) / 10
        #expect(late < early * 0.75, "loss \(early) -> \(late)")
        let v = try #require(try trainer.validate(epoch: 0))
        // Predicting 'cell' everywhere scores mIoU 0.40 and membrane Dice 0.
        #expect(v.meanIoU > 0.6, "mIoU \(v.meanIoU)")
        #expect((v.perClassDice[0] ?? 0) > 0.55, "membrane Dice \(v.perClassDice)")
    }

    @Test("tiled prediction (256, overlap 0.5) agrees with whole-image prediction on at least 99.5% of a real image")
    func tiledAgreesWithWhole() throws {
        let model = try Self.run.get().trainer.model
        let (image, _) = try SegmentationDataset.open(Self.pairs([26]), options: DatasetOptions(inputChannels: 1, classes: 2))
            .sample(0)
        let whole = SegmentationPrediction.classes(try Predictor(model: model).logits(image))
        var options = PredictionOptions()
        (options.tile, options.overlap) = (256, 0.5)
        let predictor = try Predictor(model: model, options: options)
        #expect(try predictor.layout(height: 512, width: 512).windowCount == 9)
        let tiled = SegmentationPrediction.classes(try predictor.logits(image))
        let agreement = Double(zip(whole, tiled).filter { $0 == $1 }.count) / Double(whole.count)
        #expect(agreement >= 0.995, "agreement \(agreement)")
    }
}
