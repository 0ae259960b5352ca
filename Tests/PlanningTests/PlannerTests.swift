import Planning
import Testing
import Training

/// Fixed seconds a step by width for 2 · 256² pixels, in proportion for other batches (what a machine would measure),
/// counting the candidates asked for.
final class FakeProbe: ThroughputProbe {
    let seconds: [Int: Double]
    var asked: [TrainingCandidate] = []
    init(_ seconds: [Int: Double] = [8: 0.1, 16: 0.3, 32: 1.0, 64: 3.0]) { self.seconds = seconds }
    func secondsPerStep(_ candidate: TrainingCandidate) throws -> Double {
        asked.append(candidate)
        return seconds[candidate.base]! * Double(candidate.batchSize * candidate.side * candidate.side) / Double(Planner.batchPixels)
    }
}

@Suite("Planner: a recipe from a fingerprint and measured speed")
struct PlannerTests {
    /// Gray 512x512 images: thin membranes (class 0, 20%) around cells (class 1), as ISBI's.
    static let membranes = DatasetFingerprint(
        images: 27, sourceChannels: 1, medianSize: [512, 512], minimumSize: [512, 512], maximumSize: [512, 512],
        channels: [ChannelStatistics(mean: 0.49, std: 0.17, percentile0_5: 0.08, percentile99_5: 0.87)],
        classes: [ClassFingerprint(maskValue: [0], frequency: 0.2, regions: 100, medianSize: 240, size90: 250, medianThickness: 7,
                                   topShare: 0.33, bottomShare: 0.33),
                  ClassFingerprint(maskValue: [255], frequency: 0.8, regions: 3000, medianSize: 70, size90: 140, medianThickness: 38,
                                   topShare: 0.33, bottomShare: 0.33)],
        ignoredShare: 0)

    func plan(_ f: DatasetFingerprint = membranes, budget: Double, classes: Int = 2, constraints: RecipeConstraints = .init(),
              probe: FakeProbe = FakeProbe()) throws -> Recipe {
        try Planner(fingerprint: f, trainingImages: 24, validationImages: 3, heldOutPercent: 10, inputChannels: f.sourceChannels,
                    classes: classes, budgetSeconds: budget, constraints: constraints).plan(probe: probe, spent: { 10 })
    }

    @Test("the same fingerprint, budget and measurements give the same recipe")
    func deterministic() throws {
        #expect(try plan(budget: 900) == plan(budget: 900))
    }

    @Test("the widest width that still trains 500 steps: wider as the budget grows; probing stops at the first that cannot")
    func widthByBudget() throws {
        let probe = FakeProbe()
        let short = try plan(budget: 300, probe: probe)
        #expect(short.base == 16)
        #expect(probe.asked.map(\.base) == [8, 16, 32])
        #expect(try plan(budget: 900).base == 32)
        #expect(try plan(budget: 1800, constraints: RecipeConstraints(batchSize: 2)).base == 64)
        #expect(try plan(budget: 60).base == 8)  // nothing affords 500 steps: the narrowest
        // Steps fill what is left of the budget after validation, never more.
        for budget in [300.0, 900, 1800] {
            let recipe = try plan(budget: budget)
            #expect(Double(recipe.steps) * recipe.secondsPerStep <= budget - 10)
            #expect(Double(recipe.steps) * recipe.secondsPerStep > 0.8 * (budget - 10) - 10 * recipe.validationSeconds - Planner.closingSeconds)
            #expect(recipe.validateEvery == recipe.steps / 10)
        }
    }

    @Test("membranes: full resolution, 256 crops in pairs, deep enough to see a cell, z-score, Dice + CE, AdamW and cosine, best by mIoU")
    func membraneRecipe() throws {
        let r = try plan(budget: 900)
        #expect(r.scale == 1)
        #expect(r.crop == 256 && r.batchSize == 2)
        #expect(TrainingCandidate.receptiveField(depth: r.depth) >= 240)
        #expect(256 >> r.depth >= 8)
        #expect(r.mean == [0.49] && r.std == [0.17])
        #expect(r.loss == .diceCE && r.classWeights == nil)
        #expect(r.optimizer == .adamw && r.schedule == .cosine && r.warmup > 0)
        #expect(r.augmentation.flips && r.augmentation.rotate90)
        #expect(r.augmentation.foregroundCrops == 0)  // cells cover 80%: random crops find them
        #expect(r.bestMetric == .miou)  // class 0 (membranes, 20%) is no background: Dice of the cells would ignore it
        let flags = Set(r.decisions.map(\.flag))
        for flag in ["--scale", "--crop", "--batch-size", "--depth", "--base", "--steps", "--validate-every", "--mean", "--std", "--loss",
                     "--optimizer", "--learning-rate", "--schedule", "--flips", "predict --flips"] {
            #expect(flags.contains(flag), "\(flag)")
        }
        #expect(r.decisions.allSatisfy { !$0.reason.isEmpty })
    }

    @Test("test-time flips where four passes are cheap, checked at the end against the validation images, whose time the steps leave")
    func flipsChecked() throws {
        let r = try plan(budget: 300)  // base 16: 0.21 s a pass
        #expect(r.predictionFlips)
        let decision = try #require(r.decisions.first { $0.flag == "predict --flips" })
        #expect(decision.value == "on" && decision.reason.contains("checked at the end"), "\(decision)")
        #expect(Double(r.steps) * r.secondsPerStep <= 300 - 10 - Planner.closingSeconds - 4 * r.validationSeconds)
        #expect(try !plan(budget: 900).predictionFlips)  // base 32: four passes over 2 s
    }

    @Test("a budget that affords base 64 doubles the batch at base 32 instead, where the batch can grow and still trains 500 steps")
    func batchPastBase32() throws {
        let probe = FakeProbe()
        let r = try plan(budget: 1800, probe: probe)
        #expect((r.base, r.batchSize) == (32, 4))
        #expect(probe.asked.map { [$0.base, $0.batchSize] } == [[8, 2], [16, 2], [32, 2], [64, 2], [32, 4]])
        #expect(r.secondsPerStep == 2)
        #expect(r.steps >= Planner.minimumSteps && Double(r.steps) * r.secondsPerStep <= 1800 - 10)
        let batch = try #require(r.decisions.first { $0.flag == "--batch-size" })
        #expect(batch.value == "4" && batch.reason.contains("data rather than width"), "\(batch)")
        #expect(r.decisions.contains { $0.flag == "--base" && $0.value == "32" })
        // Under 500 steps at twice the batch, or with the batch given, or the width given, base 64 stays.
        #expect(try plan(budget: 1800, probe: FakeProbe([8: 0.1, 16: 0.3, 32: 2.0, 64: 3.0])).base == 64)
        #expect(try plan(budget: 1800, constraints: RecipeConstraints(batchSize: 2)).batchSize == 2)
        #expect(try plan(budget: 1800, constraints: RecipeConstraints(base: 64)).batchSize == 2)
        // A batch that cannot grow (every training image already in it) leaves the width to grow.
        let few = try Planner(fingerprint: Self.membranes, trainingImages: 3, validationImages: 1, heldOutPercent: 10, inputChannels: 1,
                              classes: 2, budgetSeconds: 1800).plan(probe: FakeProbe(), spent: { 10 })
        #expect((few.base, few.batchSize) == (64, 2))
    }

    @Test("percentile clipping: only where a few outliers stretch a channel's range; then the z-score of the clipped values")
    func clipping() throws {
        var r = try plan(budget: 900)
        #expect(r.intensityMinimum == nil && r.intensityMaximum == nil)
        #expect(r.decisions.contains { $0.flag == "--intensity-min" && $0.value == "none" })
        var f = Self.membranes
        f.channels[0] = ChannelStatistics(mean: 0.06, std: 0.08, percentile0_5: 0.02, percentile99_5: 0.1, minimum: 0.01, maximum: 1,
                                          foreground0_5: 0.05, foreground99_5: 0.14)
        f.channels[0].clippedMean = 0.055
        f.channels[0].clippedStd = 0.025
        r = try plan(f, budget: 900)
        #expect(r.intensityMinimum == [0.02] && r.intensityMaximum == [0.14])  // widened to keep the foreground's percentiles
        #expect(r.mean == [0.055] && r.std == [0.025])
        #expect(r.decisions.contains { $0.flag == "--intensity-max" && $0.value == "0.14" })
        // Colour: each channel clipped on its own; one without outliers keeps the whole scale.
        f.sourceChannels = 3
        f.channels = [f.channels[0], ChannelStatistics(mean: 0.5, std: 0.2, percentile0_5: 0.05, percentile99_5: 0.95, minimum: 0, maximum: 1),
                      f.channels[0]]
        r = try Planner(fingerprint: f, trainingImages: 24, validationImages: 3, heldOutPercent: 10, inputChannels: 3, classes: 2,
                        budgetSeconds: 900).plan(probe: FakeProbe(), spent: { 10 })
        #expect(r.intensityMinimum == [0.02, 0, 0.02] && r.intensityMaximum == [0.14, 1, 0.14])
        #expect(r.mean == [0.055, 0.5, 0.055])
    }

    @Test("large photographs of one big object are scaled down and ranked by its Dice; a class keeping to one part of the image turns flips off")
    func photographs() throws {
        var f = Self.membranes
        f.sourceChannels = 3
        (f.medianSize, f.minimumSize, f.maximumSize) = ([1918, 1280], [1918, 1280], [1918, 1280])
        f.channels = Array(repeating: ChannelStatistics(mean: 0.6, std: 0.2, percentile0_5: 0, percentile99_5: 1), count: 3)
        f.classes = [ClassFingerprint(maskValue: [0], frequency: 0.8, regions: 5, medianSize: 1400, size90: 1450, medianThickness: 1700,
                                      topShare: 0.4, bottomShare: 0.4),
                     ClassFingerprint(maskValue: [255], frequency: 0.2, regions: 5, medianSize: 700, size90: 720, medianThickness: 320,
                                      topShare: 0.12, bottomShare: 0.02)]
        var r = try plan(f, budget: 900)
        #expect(r.augmentation.foregroundCrops == 0)
        #expect(r.bestMetric == .dice)  // class 0 is a background: the object's Dice
        f.classes[1].frequency = 0.05  // a small object: a third of the crops are centred on it
        f.classes[0].frequency = 0.95
        r = try plan(f, budget: 900)
        #expect(r.augmentation.foregroundCrops == 0.33 && r.batchAugmentation.foregroundCrops == 0.33)
        #expect(r.scale < 0.3 && r.scale >= 512.0 / 1918)
        #expect(r.mean.count == 3)
        #expect(!r.augmentation.flips && !r.augmentation.rotate90 && !r.predictionFlips)
    }

    @Test("several classes: rare ones weighted up, best checkpoint by mean IoU; small uniform images are taken whole")
    func multiClass() throws {
        var f = Self.membranes
        (f.medianSize, f.minimumSize, f.maximumSize) = ([96, 96], [96, 96], [96, 96])
        f.classes = [0.7, 0.2, 0.09, 0.01].enumerated().map {
            ClassFingerprint(maskValue: [$0.offset], frequency: $0.element, regions: 10, medianSize: 20, size90: 30, medianThickness: 5,
                             topShare: 0.33, bottomShare: 0.33)
        }
        let r = try plan(f, budget: 600, classes: 4)
        #expect(r.crop == nil)
        #expect(r.bestMetric == .miou)
        let weights = try #require(r.classWeights)
        #expect(weights[0] == 1 && weights[3] > weights[2] && weights[2] > 1)
        #expect(r.depth <= 3)  // a 96-pixel image keeps a bottom map of 8 pixels or more
    }

    @Test("fixed settings are kept and the rest planned around them: a given width is the only one timed")
    func constraints() throws {
        let probe = FakeProbe()
        let r = try plan(budget: 900, constraints: RecipeConstraints(base: 64, crop: 128, batchSize: 4), probe: probe)
        #expect(probe.asked.map(\.base) == [64])
        #expect(probe.asked.allSatisfy { $0.side == 128 && $0.batchSize == 4 })
        #expect((r.base, r.crop, r.batchSize) == (64, 128, 4))
        #expect(!r.decisions.contains { $0.flag == "--base" || $0.flag == "--crop" })
        #expect(try plan(budget: 900, constraints: RecipeConstraints(steps: 123)).steps == 123)
    }
}
