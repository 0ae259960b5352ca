import ArgumentParser
import Training
import Workflows

/// The optimizer, its learning-rate schedule, gradient clipping and the weights' average (`unet train`). A flag left out
/// takes milesial's default (RMSprop at 1e-5, weight decay 1e-8, momentum 0.999, ReduceLROnPlateau on validation Dice,
/// clipping at 1), or nnU-Net's for its networks (`TrainerDefaults`).
struct OptimizerOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Learning rate (default: 1e-5; nnunet: 1e-2).") var learningRate: Float?
    @Option(help: "Optimizer (default: rmsprop; nnunet: sgd).") var optimizer: TrainingOptions.OptimizerKind?
    @Option(help: "Weight decay (default: 1e-8; nnunet: 3e-5).") var weightDecay: Float?
    @Option(help: "Momentum (SGD, RMSprop) or Adam's beta1 (default: 0.999 RMSprop, 0.9 others; nnunet: 0.99).") var momentum: Float?
    @Flag(inversion: .prefixedNo, help: "Nesterov momentum (SGD; default: off; nnunet: on).") var nesterov: Bool?
    @Option(help: "Learning-rate schedule (default: plateau; nnunet: poly).") var schedule: Schedule.Kind?
    @Option(help: "Warm-up steps (cosine).") var warmup = 0
    @Option(help: "Final learning rate (cosine, plateau).") var minLr: Float = 0
    @Option(help: "Validations without improvement before the plateau schedule lowers the rate.") var patience = 5
    @Option(help: ArgumentHelp("Maximum gradient norm (default: 1; nnunet: 12; 0: no clipping; each parameter is then updated as "
        + "soon as backward has its gradient, which stores no gradients)."))
    var clip: Float?
    @Option(help: ArgumentHelp("Keep an exponential moving average of the weights with this decay (e.g. 0.99): validation, "
        + "best.safetensors and its metric use the averaged weights.", valueName: "decay"))
    var ema: Float?

    func validate() throws {
        try FlagRange.positive(learningRate, "--learning-rate", atMost: 10)
        try FlagRange.check(minLr, "--min-lr", in: 0...10)
        try FlagRange.check(weightDecay, "--weight-decay", in: 0...1)
        try FlagRange.below(momentum, "--momentum", 1)
        try FlagRange.check(clip, "--clip", in: 0...1e6)
        try FlagRange.check(warmup, "--warmup", in: 0...1_000_000_000)
        try FlagRange.check(patience, "--patience", in: 0...1_000_000)
        try FlagRange.below(ema, "--ema", 1)
    }

    /// Writes the flags into `o`, `defaults` for those left out. `--min-lr` is checked against the learning rate that
    /// applies once the rate is known (`check(_:)`).
    func apply(to o: inout TrainingOptions, defaults: TrainerDefaults = .milesial) {
        o.optimizer = optimizer ?? defaults.optimizer
        o.learningRate = learningRate ?? defaults.learningRate
        o.weightDecay = weightDecay ?? defaults.weightDecay
        // An optimizer given by flag takes its own momentum defaults, not those of the defaults' optimizer.
        o.nesterov = nesterov ?? (optimizer == nil && defaults.nesterov)
        o.momentum = momentum ?? (optimizer == nil ? defaults.momentum : nil) ?? (o.optimizer == .rmsprop ? 0.999 : 0.9)
        (o.schedule, o.warmupSteps, o.minimumLearningRate, o.plateauPatience) = (schedule ?? defaults.schedule, warmup, minLr, patience)
        let clip = clip ?? defaults.clip
        o.gradientClipping = clip > 0 ? clip : nil
        o.emaDecay = ema
    }

    /// - Throws: `ValidationError` where `--min-lr` is above the learning rate that applies in `o` (given, the
    ///   architecture's default or, under `--auto`, the recipe's).
    static func check(_ o: TrainingOptions) throws {
        guard o.minimumLearningRate <= o.learningRate else {
            throw ValidationError("--min-lr \(o.minimumLearningRate) is above the learning rate, \(o.learningRate)")
        }
    }
}

extension TrainingOptions.OptimizerKind: ExpressibleByArgument {}
extension Schedule.Kind: ExpressibleByArgument {}
