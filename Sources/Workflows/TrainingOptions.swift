import Execution
import Foundation
import Graph
import Training

/// Everything `unet train` decides besides the data and the architecture. Defaults are milesial's
/// `train.py`: RMSprop (lr 1e-5, weight decay 1e-8, momentum 0.999), ReduceLROnPlateau on validation Dice,
/// Dice + cross-entropy, gradient clipping at 1.0, 5 epochs of batch 1.
public struct TrainingOptions: Sendable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case sgd, adam, adamw, rmsprop }
    public enum Metric: String, Codable, Sendable, CaseIterable {
        /// Mean Dice over the foreground classes (the binary foreground's Dice for two classes).
        case dice
        case miou
        /// Pixel accuracy.
        case accuracy
    }

    public var epochs = 5
    /// Total optimizer steps instead of epochs.
    public var steps: Int?
    public var learningRate: Float = 1e-5
    public var optimizer: OptimizerKind = .rmsprop
    public var weightDecay: Float = 1e-8
    /// SGD and RMSprop momentum; Adam's β1.
    public var momentum: Float = 0.999
    public var nesterov = false
    public var schedule: Schedule.Kind = .plateau
    public var warmupSteps = 0
    public var minimumLearningRate: Float = 0
    public var plateauPatience = 5
    /// Steps at the start during which the encoder's parameters (keys `encoder.*`: smp's and nnU-Net's) are left
    /// alone, as PyTorch leaves parameters with `requires_grad=False` (transfer learning: train the decoder first).
    public var freezeEncoderSteps = 0
    /// Maximum global gradient norm; nil disables clipping.
    public var gradientClipping: Float? = 1.0
    public var loss = LossFunction()
    /// Whether the loss also scores the lower-resolution heads of a network that has them (nnU-Net's), as nnU-Net
    /// trains (`DeepSupervisionLoss`); nil: wherever the network has them.
    public var deepSupervision: Bool?
    public var precision: Precision = .fp32
    /// Whether backward runs each block's first convolution and each up-sampling again instead of keeping
    /// their outputs (`CompiledUNet`'s `recomputesConvolutions`; nil: only where keeping every map would take more
    /// than an eighth of the machine's memory).
    public var recomputesConvolutions: Bool?
    /// The decay of an exponential moving average of the weights (`--ema`, `ExponentialMovingAverage`): validation, the
    /// best checkpoint and its metric use the averaged weights; the last checkpoint holds the trained weights and the
    /// averages, so that a resumed run continues both. nil: no average.
    public var emaDecay: Float?
    /// Validate every this many steps (nil: only at the end of each epoch, or every tenth of the steps).
    public var validateEvery: Int?
    public var bestMetric: Metric = .dice
    /// Also write `epoch_<n>.safetensors` at each epoch's end.
    public var saveEveryEpoch = false
    public var seed: UInt64 = 0
    /// Data-parallel training: the size of the buckets in which gradients are exchanged (PyTorch DDP's
    /// `bucket_cap_mb`).
    public var gradientBucketMegabytes = 25.0
    /// Data-parallel training: batch norm normalises each step with the statistics of every rank's batch together
    /// (PyTorch's `SyncBatchNorm`) instead of each rank's own.
    public var synchronizedBatchNorm = false
    /// When the run must be over, its closing validation and checkpoints included (`--time`): the trainer fits the
    /// schedule to the steps that fit and stops early if need be (`TimeBudget`). nil: no deadline.
    public var deadline: Date?
    /// Under a deadline, whether the run may also train more steps than planned when they fit (`--auto`: the planned
    /// steps are an estimate); otherwise the planned steps are the most it trains.
    public var stretchesToDeadline = false
    /// Seconds one validation pass is assumed to take until one has been timed (the planner's estimate).
    public var estimatedValidationSeconds = 1.0
    /// After training, the best checkpoint is validated again with test-time flips, which its metadata keeps only if
    /// they raise the best metric (`--auto`, where they are affordable); the budget keeps time for the four passes.
    public var checksTestTimeFlips = false

    public init() {}

    /// The number of optimizer steps for `batchesPerEpoch`.
    public func totalSteps(batchesPerEpoch: Int) -> Int { steps ?? epochs * max(batchesPerEpoch, 1) }
}
