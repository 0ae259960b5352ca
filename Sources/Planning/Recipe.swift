import Datasets
import Training
import Workflows

/// What `unet train --auto` trains with: every setting `unet train` has a flag for, and the reasons (`decisions`, in
/// flag order) that `unet plan` prints. Written by `Planner`; a flag the user gives replaces the setting
/// (`RecipeDecision.reason` then says so).
public struct Recipe: Codable, Sendable, Equatable {
    // The data as the network sees it.
    public var scale: Double
    public var inputChannels: Int
    public var classes: Int
    public var mean: [Float]
    public var std: [Float]
    /// Per-channel bounds the values are clipped to before the z-score ([0, 1] scale); nil: no clipping.
    public var intensityMinimum: [Float]?
    public var intensityMaximum: [Float]?
    // The network: milesial's U-Net.
    public var base: Int
    public var depth: Int
    // Batches.
    /// Square random crops of this side; nil: whole images.
    public var crop: Int?
    public var batchSize: Int
    public var augmentation: RecipeAugmentation
    // Loss and optimizer.
    public var loss: LossFunction.Kind
    public var classWeights: [Float]?
    public var optimizer: TrainingOptions.OptimizerKind
    public var learningRate: Float
    public var weightDecay: Float
    public var momentum: Float
    public var nesterov: Bool
    public var schedule: Schedule.Kind
    public var warmup: Int
    public var minimumLearningRate: Float
    /// Gradient clipping (0: none).
    public var clip: Float
    // Length and checkpoints.
    public var steps: Int
    public var validateEvery: Int
    public var bestMetric: TrainingOptions.Metric
    /// Percent of the data held out for validation when no validation set is given.
    public var validationPercent: Double
    // Prediction settings written into the model.
    public var predictionFlips: Bool
    // What the plan expects.
    /// The measured seconds per training step of the chosen network.
    public var secondsPerStep: Double
    /// The estimated seconds of one validation pass.
    public var validationSeconds: Double
    /// The whole run's budget in seconds.
    public var budgetSeconds: Double
    public var decisions: [RecipeDecision]

    /// Writes the recipe's training settings into `o` (steps, optimizer, schedule, clipping, the loss's kind and class
    /// weights, validation); the rest of `o` (precision, seed, the Dice term's background, ...) stays as it is.
    public func apply(to o: inout TrainingOptions) {
        o.steps = steps
        (o.learningRate, o.optimizer, o.weightDecay, o.momentum, o.nesterov) = (learningRate, optimizer, weightDecay, momentum, nesterov)
        (o.schedule, o.warmupSteps, o.minimumLearningRate) = (schedule, warmup, minimumLearningRate)
        o.gradientClipping = clip > 0 ? clip : nil
        (o.loss.kind, o.loss.classWeights) = (loss, classWeights)
        (o.validateEvery, o.bestMetric) = (validateEvery, bestMetric)
        o.estimatedValidationSeconds = validationSeconds
    }

    /// The recipe's augmentation of training batches.
    public var batchAugmentation: Augmentation {
        var a = Augmentation()
        (a.crop, a.foregroundCrops) = (crop, crop == nil ? 0 : augmentation.foregroundCrops)
        (a.flips, a.rotate90) = (augmentation.flips, augmentation.rotate90)
        (a.rotationDegrees, a.scaleJitter) = (augmentation.rotation, augmentation.scale)
        (a.brightness, a.contrast, a.gamma) = (augmentation.brightness, augmentation.contrast, augmentation.gamma)
        return a
    }

    /// Replaces the reason of `flag`'s decision (a flag the user gave), or adds one.
    public mutating func setReason(_ flag: String, value: String, reason: String) {
        if let i = decisions.firstIndex(where: { $0.flag == flag }) {
            decisions[i] = RecipeDecision(flag: flag, value: value, reason: reason)
        } else {
            decisions.append(RecipeDecision(flag: flag, value: value, reason: reason))
        }
    }
}
