import Foundation
import Training
import Workflows

/// Chooses a training recipe from a dataset's fingerprint and this machine's measured speed, for a time budget
/// (`unet train --auto --time`), as nnU-Net's planner chooses one from a fingerprint and a GPU's memory. The rules,
/// each stated in the decision it makes:
/// - scale: the smallest that keeps the thinnest common structure 4 pixels thick and the median image's long side
///   at 512 pixels or more;
/// - crop and batch: whole images when they are all one size of at most 256 pixels a side, else square crops twice
///   the typical object (128-256 pixels), in batches of about 2 · 256² pixels (doubled: see width);
/// - depth: the shallowest (3-5) whose receptive field covers the typical object, with a bottom map of 8 pixels or more;
/// - width: the widest of 8, 16, 32, 64 that still trains `minimumSteps` steps in the budget (steps measured by
///   the probe); where that is 64 and twice the batch at base 32 also trains `minimumSteps` steps, base 32 with
///   twice the batch (the hand recipes' choice: minutes spent on seeing data rather than on width);
/// - steps: what fills the budget after validation, which is given a tenth of it at most;
/// - normalization: each channel's z-score over the dataset, its values first clipped to the 0.5-99.5th percentiles
///   (widened to the foreground's) where the extremes lie more than twice as far apart as those percentiles;
/// - optimizer: AdamW with warm-up and cosine decay under 5000 steps (it converges in fewer), else nnU-Net's SGD
///   with Nesterov momentum and the poly schedule;
/// - augmentation: by how often each pixel is seen; no flips or 90° rotations when a class keeps to the top or the
///   bottom of the images; a third of the crops centred on foreground when a foreground class is under 10%;
/// - loss: Dice + cross-entropy, rare classes weighted up (multi-class);
/// - best checkpoint: the foreground's Dice where class 0 is the most frequent class (a background), else the mean IoU;
/// - prediction: test-time flips when they cost under 2 s an image and the images have no up and down, kept after
///   training only if they raise the best checkpoint's validation metric.
/// The planner is deterministic for a fingerprint, a budget and the probe's numbers.
public struct Planner {
    public var fingerprint: DatasetFingerprint
    public var trainingImages: Int
    /// Validation images: a given set, or the share of the data held out (`heldOutPercent`).
    public var validationImages: Int
    /// The percent of the data held out for validation; nil when a validation set is given.
    public var heldOutPercent: Double?
    public var inputChannels: Int
    /// The model's classes (1: binary with a sigmoid).
    public var classes: Int
    /// The whole run's budget in seconds (reading the data and planning included).
    public var budgetSeconds: Double
    public var constraints: RecipeConstraints

    /// The fewest steps a width must afford to be chosen.
    public static let minimumSteps = 500
    /// Widths considered, narrowest first.
    public static let widths = [8, 16, 32, 64]
    /// The widest base chosen while the batch can still grow (nnU-Net's): a budget that affords a wider one doubles the
    /// batch instead.
    public static let widestBase = 32
    /// The most images a training batch holds.
    public static let largestBatch = 16
    /// Pixels a training batch holds (two 256² crops).
    public static let batchPixels = 2 * 256 * 256
    /// Passes over each pixel from which augmentation turns light and strong: below them a short run is still
    /// fitting the data, and augmentation would only slow it.
    public static let lightAugmentationPasses = 8.0
    public static let strongAugmentationPasses = 30.0
    /// Seconds kept for the final checkpoints, the curves and leaving.
    public static let closingSeconds = 5.0

    /// The budget of `unet train --auto` without `--time`.
    public static let defaultBudgetSeconds = 1800.0

    public init(fingerprint: DatasetFingerprint, trainingImages: Int, validationImages: Int, heldOutPercent: Double?, inputChannels: Int,
                classes: Int, budgetSeconds: Double, constraints: RecipeConstraints = RecipeConstraints()) {
        self.fingerprint = fingerprint
        self.trainingImages = trainingImages
        self.validationImages = validationImages
        self.heldOutPercent = heldOutPercent
        self.inputChannels = inputChannels
        self.classes = classes
        self.budgetSeconds = budgetSeconds
        self.constraints = constraints
    }

    /// The recipe. `spent` gives the seconds of the budget used so far (asked after the probes have run).
    /// - Throws: what the probe throws.
    public func plan(probe: any ThroughputProbe, spent: () -> Double) throws -> Recipe {
        var decisions: [RecipeDecision] = []
        func decide(_ flag: String, _ value: String, _ reason: String) {
            decisions.append(RecipeDecision(flag: flag, value: value, reason: reason))
        }
        let f = fingerprint
        let common = f.classes.filter { $0.frequency >= 0.01 && $0.regions > 0 }
        // What the network reads and writes, so that the printed flags train the same model.
        decide("--in-channels", "\(inputChannels)", inputChannels == f.sourceChannels
               ? "the images' channels (\(inputChannels == 1 ? "gray" : inputChannels == 3 ? "colour" : "\(inputChannels)"))"
               : "read as \(inputChannels) channel(s); the files have \(f.sourceChannels)")
        decide("--classes", "\(classes)", "the masks' values, at least background and foreground")

        // 1. Scale.
        let longSide = Double(f.medianSize.max() ?? 1)
        let thinnest = common.map(\.medianThickness).min() ?? longSide
        var scale = min(1, max(4 / max(thinnest, 1e-9), 512 / longSide))
        scale = scale >= 0.95 ? 1 : (scale * 100).rounded(.up) / 100
        if let given = constraints.scale {
            scale = given
        } else {
            decide("--scale", format(scale), scale == 1
                ? String(format: "the thinnest common structure is %.1f px thick and the images %.0f px long: full resolution", thinnest, longSide)
                : String(format: "keeps the thinnest common structure (%.1f px) 4 px thick and the long side (%.0f px) at 512 px or more",
                         thinnest, longSide))
        }
        let size = f.medianSize.map { Int((Double($0) * scale).rounded()) }
        let smallest = f.minimumSize.map { Int((Double($0) * scale).rounded()) }.min() ?? 0
        let pixels = Double(size.reduce(1, *))

        // 2. The typical object: the largest median region of the classes besides the most frequent one.
        let dominant = f.classes.indices.max { f.classes[$0].frequency < f.classes[$1].frequency }
        let objects = f.classes.indices.filter { $0 != dominant }.map { f.classes[$0] }.filter { $0.frequency >= 0.01 && $0.regions > 0 }
        let object = (objects.map(\.medianSize).max() ?? longSide / 2) * scale

        // 3. Crop and batch.
        let uniform = f.minimumSize == f.maximumSize
        var crop: Int?
        if let given = constraints.crop {
            crop = given
        } else if uniform, (size.max() ?? 0) <= 256 {
            decide("--crop", "none", "every image is \(size.map(String.init).joined(separator: "x")) px: whole images")
        } else {
            let wanted = min(max(Int((2 * object / 32).rounded(.up)) * 32, 128), 256)
            let fits = max(smallest / 32 * 32, 32)
            crop = min(wanted, fits)
            decide("--crop", "\(crop!)", String(format: "twice the typical object (%.0f px at this scale), within 128-256 px", object)
                + (fits < wanted ? " and the smallest image (\(smallest) px)" : ""))
        }
        let side = crop ?? Int((Double(size.max() ?? 64)).rounded())
        let batchLimit = max(min(Self.largestBatch, trainingImages), 1)
        var batchSize = constraints.batchSize ?? min(max(Int((Double(Self.batchPixels) / Double(side * side)).rounded()), 1), batchLimit)
        let batchDecision = decisions.count
        if constraints.batchSize == nil {
            decide("--batch-size", "\(batchSize)", "about 2 · 256² pixels a step (\(batchSize) x \(side)²)"
                + (batchSize == trainingImages ? ", at most the training images" : ""))
        }

        // 4. Depth.
        let deepest = max((2...6).last { side >= 8 << $0 } ?? 2, 2)
        var depth = min((3...5).first { Double(TrainingCandidate.receptiveField(depth: $0)) >= object } ?? 5, deepest)
        if let given = constraints.depth {
            depth = given
        } else {
            decide("--depth", "\(depth)", "receptive field \(TrainingCandidate.receptiveField(depth: depth)) px "
                + String(format: "for objects of %.0f px", object) + (depth == deepest ? ", bottom map at least 8 px" : ""))
        }

        // 5. Width, by the steps the budget affords at each (measured).
        let validationCount = validationImages
        func measure(_ base: Int, batch: Int) throws -> (base: Int, seconds: Double, affordable: Bool) {
            let seconds = try probe.secondsPerStep(TrainingCandidate(base: base, depth: depth, side: side, batchSize: batch,
                                                                     inputChannels: inputChannels, classes: classes))
            let steps = fill(secondsPerStep: seconds, spent: 0, side: side, batch: batch, validationCount: validationCount, pixels: pixels).steps
            return (base, seconds, steps >= Self.minimumSteps)
        }
        var measured: [(base: Int, seconds: Double, affordable: Bool)] = []
        for base in constraints.base.map({ [$0] }) ?? Self.widths {
            measured.append(try measure(base, batch: batchSize))
            if !measured.last!.affordable { break }
        }
        let affordable = measured.filter(\.affordable)
        var chosen = affordable.last ?? measured[0]
        let timing = measured.map { String(format: "%d: %.2f s", $0.base, $0.seconds) }.joined(separator: ", ")
        // Past nnU-Net's width the budget buys more data a step rather than width, where the batch can grow.
        var doubledBatch = false
        if constraints.base == nil, constraints.batchSize == nil, chosen.base > Self.widestBase, 2 * batchSize <= batchLimit {
            let doubled = try measure(Self.widestBase, batch: 2 * batchSize)
            if doubled.affordable {
                let reason = String(format: "twice about 2 · 256² pixels a step (%d x %d², %.2f s a step): the budget affords base %d, "
                                    + "and past base %d it buys data rather than width", 2 * batchSize, side, doubled.seconds, chosen.base,
                                    Self.widestBase)
                (chosen, batchSize, doubledBatch) = (doubled, 2 * batchSize, true)
                decisions[batchDecision] = RecipeDecision(flag: "--batch-size", value: "\(batchSize)", reason: reason)
            }
        }
        if constraints.base == nil {
            decide("--base", "\(chosen.base)", (affordable.isEmpty
                ? "the narrowest: the budget affords fewer than \(Self.minimumSteps) steps at any width"
                : doubledBatch ? "nnU-Net's width; the budget's surplus doubles the batch"
                : "the widest that trains \(Self.minimumSteps)+ steps in the budget") + " (seconds a step by width: \(timing))")
        }

        // 6. Steps and validation, from what is left of the budget now (and the test-time flips check's time, step 11).
        let upright = f.isUpright
        let inferenceSeconds = pixels * chosen.seconds / Double(batchSize * side * side) * Self.forwardShare
        let flips = !upright && 4 * inferenceSeconds <= 2
        let plan = fill(secondsPerStep: chosen.seconds, spent: spent(), side: side, batch: batchSize, validationCount: validationCount,
                        pixels: pixels, flipsCheck: flips && validationCount > 0)
        let steps = constraints.steps ?? plan.steps
        if constraints.steps == nil {
            decide("--steps", "\(steps)", String(format: "%.0f s of the budget left for training at %.2f s a step", plan.trainingSeconds,
                                                 chosen.seconds))
        }
        let validateEvery = max(steps / plan.validations, 1)
        decide("--validate-every", "\(validateEvery)", String(format: "%d validations of %d images (%.1f s each), a tenth of the budget at most",
                                                              plan.validations, validationCount, plan.validationSeconds))
        if let heldOutPercent {
            decide("--validation", format(heldOutPercent), "\(validationCount) image(s) held out to pick the best checkpoint")
        }
        let multiClass = classes > 2
        // Dice scores class 1 alone: right where class 0 is a background, wrong where class 0 is the thin structure
        // (ISBI's membranes, 20%, around cells): there the mean IoU weighs both.
        let background = f.classes.first.map { first in f.classes.allSatisfy { $0.frequency <= first.frequency } } ?? true
        let bestMetric: TrainingOptions.Metric = multiClass || !background ? .miou : .dice
        decide("--best-metric", bestMetric.rawValue, multiClass ? "several classes: the mean IoU weighs each"
               : background ? "one foreground: its Dice"
               : String(format: "class 0 covers %.0f%%, less than class 1: a structure, not a background; the mean IoU weighs both",
                        100 * (f.classes.first?.frequency ?? 0)))

        // 7. Normalization: each channel's z-score over the dataset, after clipping where a few outliers stretch the range.
        let channels = f.channels.isEmpty ? [ChannelStatistics(mean: 0, std: 1, percentile0_5: 0, percentile99_5: 1)] : f.channels
        let statistics = inputChannels == channels.count ? channels : Array(repeating: channels[0], count: inputChannels)
        let clips = statistics.map(\.hasOutliers)
        var intensityRange: (lower: [Float], upper: [Float])?
        if clips.contains(true) {
            let ranges = zip(statistics, clips).map { $1 ? $0.clippingRange : 0...1 }
            let (lower, upper) = (ranges.map { Float($0.lowerBound) }, ranges.map { Float($0.upperBound) })
            intensityRange = (lower, upper)
            let outlying = zip(statistics, clips).filter(\.1).map { s, _ in
                String(format: "%.3g-%.3g where 99%% lie in %.3g-%.3g", s.minimum, s.maximum, s.clippingRange.lowerBound,
                       s.clippingRange.upperBound)
            }
            decide("--intensity-min", lower.map(format).joined(separator: ","),
                   "values span \(outlying.joined(separator: "; ")): clipped to the 0.5-99.5th percentiles (the foreground's "
                   + "kept), as nnU-Net's CT normalization")
            decide("--intensity-max", upper.map(format).joined(separator: ","), "the same percentiles' upper end")
        } else {
            let spans = statistics.map { String(format: "%.3g-%.3g", $0.minimum, $0.maximum) }.joined(separator: ", ")
            decide("--intensity-min", "none", "no outliers to clip: the extremes (\(spans)) lie within twice the 0.5-99.5th percentiles' span")
        }
        let mean = zip(statistics, clips).map { s, clip in Float(clip ? s.clippedMean ?? s.mean : s.mean) }
        let std = zip(statistics, clips).map { s, clip in Float(max(clip ? s.clippedStd ?? s.std : s.std, 1e-3)) }
        let after = zip(statistics, clips).contains { $1 && $0.clippedMean != nil } ? " (of the clipped values)" : ""
        decide("--mean", mean.map(format).joined(separator: ","), "each channel's mean over the dataset\(after) (z-score, as nnU-Net's)")
        decide("--std", std.map(format).joined(separator: ","), "each channel's standard deviation over the dataset\(after)")

        // 8. Loss.
        var classWeights: [Float]?
        if multiClass {
            let frequencies = f.classes.map(\.frequency)
            let present = frequencies.filter { $0 > 0 }.sorted()
            let median = present.isEmpty ? 1 : present[present.count / 2]
            let weights = frequencies.map { $0 > 0 ? Float(min(max((median / $0).squareRoot(), 1), 10)) : 1 }
            if weights.contains(where: { $0 > 1 }) { classWeights = weights.map { ($0 * 100).rounded() / 100 } }
        }
        decide("--loss", LossFunction.Kind.diceCE.rawValue, "Dice + cross-entropy: Dice keeps small classes from vanishing")
        if let classWeights {
            decide("--class-weights", classWeights.map(format).joined(separator: ","),
                   "rare classes weighted up by √(median share / share), 1-10")
        }

        // 9. Optimizer and schedule.
        let adam = steps < 5000
        let warmup = adam ? min(max(steps / 20, 1), 200) : 0
        if adam {
            decide("--optimizer", "adamw", "\(steps) steps: Adam converges in fewer steps than SGD")
            decide("--learning-rate", "0.001", "Adam's usual rate for a U-Net trained from scratch")
            decide("--weight-decay", "0.0001", "AdamW's decoupled decay, light")
            decide("--schedule", "cosine", "warm-up over \(warmup) steps, then cosine decay to 1e-5 by the budget's end")
            decide("--warmup", "\(warmup)", "a twentieth of the steps, at most 200")
            decide("--min-lr", "1e-05", "where the cosine decay ends")
        } else {
            decide("--optimizer", "sgd", "\(steps) steps: nnU-Net's SGD (momentum 0.99, Nesterov)")
            decide("--learning-rate", "0.01", "nnU-Net's rate")
            decide("--momentum", "0.99", "nnU-Net's momentum")
            decide("--nesterov", "on", "nnU-Net's Nesterov momentum")
            decide("--weight-decay", "3e-05", "nnU-Net's weight decay")
            decide("--schedule", "poly", "nnU-Net's poly decay to the budget's end")
        }
        decide("--clip", "0", adam ? "warm-up keeps the first steps stable; without clipping no gradient is stored"
               : "nnU-Net clips at 12; without clipping no gradient is stored")

        // 10. Augmentation, by how often each pixel is seen.
        let seen = Double(steps * batchSize * side * side) / max(Double(trainingImages) * pixels, 1)
        var augmentation = RecipeAugmentation()
        augmentation.flips = !upright
        augmentation.rotate90 = !upright
        decide("--flips", upright ? "off" : "on", upright ? "a class keeps to the top or bottom of the images (sky, road)"
               : "no class keeps to the top or bottom of the images")
        decide("--rotate90", upright ? "off" : "on", upright ? "the images have an up and a down" : "the images have no up and down")
        if crop != nil {
            let foreground = f.classes.dropFirst().map(\.frequency).filter { $0 > 0 }.min() ?? 1
            augmentation.foregroundCrops = foreground < 0.1 ? 0.33 : 0
            decide("--foreground-crops", format(Double(augmentation.foregroundCrops)), foreground < 0.1
                ? String(format: "the rarest foreground class covers %.1f%%: a third of the crops centred on foreground, as nnU-Net's", 100 * foreground)
                : String(format: "every foreground class covers %.0f%% or more: random crops find it", 100 * foreground))
        }
        if seen >= Self.strongAugmentationPasses {
            (augmentation.rotation, augmentation.scale) = (15, 0.15)
            (augmentation.brightness, augmentation.contrast, augmentation.gamma) = (0.1, 0.15, 0.15)
        } else if seen >= Self.lightAugmentationPasses {
            augmentation.scale = 0.1
            (augmentation.brightness, augmentation.contrast) = (0.1, 0.1)
        }
        decide("--augment-scale", format(augmentation.scale), String(format: "each pixel is seen about %.0f times: ", seen)
            + (seen >= Self.strongAugmentationPasses ? "strong augmentation (rotation, scale, brightness, contrast, gamma)"
               : seen >= Self.lightAugmentationPasses ? "light augmentation (scale, brightness, contrast)"
               : "too few passes to need more than flips"))
        for (flag, value) in [("--augment-rotation", augmentation.rotation), ("--brightness", augmentation.brightness),
                              ("--contrast", augmentation.contrast), ("--gamma", augmentation.gamma)] where value > 0 {
            decide(flag, format(value), "part of the augmentation --augment-scale's reason names")
        }

        // 11. Prediction: test-time flips where they are cheap and the images have no up and down, kept where the
        // validation images show that they pay.
        let checked = flips && validationCount > 0 ? ", kept if they raise the best checkpoint's validation \(bestMetric.rawValue) (checked at the end)" : ""
        decide("predict --flips", flips ? "on" : "off", upright ? "the images have an up and a down"
               : String(format: "four passes cost %.2f s an image%@", 4 * inferenceSeconds, flips ? checked : ", over 2 s"))

        return Recipe(
            scale: scale, inputChannels: inputChannels, classes: classes, mean: mean, std: std, intensityMinimum: intensityRange?.lower,
            intensityMaximum: intensityRange?.upper, base: chosen.base, depth: depth,
            crop: crop, batchSize: batchSize, augmentation: augmentation, loss: .diceCE, classWeights: classWeights,
            optimizer: adam ? .adamw : .sgd, learningRate: adam ? 1e-3 : 1e-2, weightDecay: adam ? 1e-4 : 3e-5,
            momentum: adam ? 0.9 : 0.99, nesterov: !adam, schedule: adam ? .cosine : .poly, warmup: warmup,
            minimumLearningRate: adam ? 1e-5 : 0, clip: 0, steps: steps, validateEvery: validateEvery, bestMetric: bestMetric,
            validationPercent: heldOutPercent ?? 0, predictionFlips: flips, secondsPerStep: chosen.seconds,
            validationSeconds: plan.validationSeconds, budgetSeconds: budgetSeconds, decisions: decisions)
    }

    /// The percent of `images` to hold out for validation when no validation set is given: 10%, or one image of a
    /// set under ten.
    public static func validationPercent(images: Int) -> Double {
        images >= 10 ? 10 : images >= 2 ? 100 / Double(images) + 0.01 : 0
    }

    /// The share of a training step's time that a forward pass of the same pixels takes.
    static let forwardShare = 0.35

    /// How the time left after `spent` seconds splits: validations (a tenth of the training time at most, 1-10 of
    /// them) and the steps that fill the rest.
    func fill(secondsPerStep: Double, spent: Double, side: Int, batch: Int, validationCount: Int, pixels: Double, flipsCheck: Bool = false)
        -> (steps: Int, validations: Int, validationSeconds: Double, trainingSeconds: Double)
    {
        let validationSeconds = Double(validationCount) * pixels * secondsPerStep / Double(batch * side * side) * Self.forwardShare + 0.5
        let left = max(budgetSeconds - spent - Self.closingSeconds - (flipsCheck ? 4 * validationSeconds : 0), 0)
        let validations = min(max(Int(0.1 * left / validationSeconds), 1), 10)
        let training = max(left - Double(validations) * validationSeconds, 0)
        return (max(Int(training / secondsPerStep), 1), validations, validationSeconds, training)
    }

    private func format(_ value: Double) -> String { String(format: "%g", value) }
    private func format(_ value: Float) -> String { String(format: "%.4g", value) }
}
