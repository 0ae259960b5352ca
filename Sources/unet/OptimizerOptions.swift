import ArgumentParser
import Training
import Workflows

/// The optimizer, its learning-rate schedule, gradient clipping and the weights' average (`unet train`), with milesial's defaults:
/// RMSprop at 1e-5, weight decay 1e-8, momentum 0.999, ReduceLROnPlateau on validation Dice.
struct OptimizerOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Learning rate.") var learningRate: Float = 1e-5
    @Option(help: "Optimizer.") var optimizer: TrainingOptions.OptimizerKind = .rmsprop
    @Option(help: "Weight decay.") var weightDecay: Float = 1e-8
    @Option(help: "Momentum (SGD, RMSprop) or Adam's beta1.") var momentum: Float?
    @Flag(help: "Nesterov momentum (SGD).") var nesterov = false
    @Option(help: "Learning-rate schedule.") var schedule: Schedule.Kind = .plateau
    @Option(help: "Warm-up steps (cosine).") var warmup = 0
    @Option(help: "Final learning rate (cosine, plateau).") var minLr: Float = 0
    @Option(help: "Validations without improvement before the plateau schedule lowers the rate.") var patience = 5
    @Option(help: "Maximum gradient norm (0: no clipping; each parameter is then updated as soon as backward has its gradient, which stores no gradients).")
    var clip: Float = 1
    @Option(help: ArgumentHelp("Keep an exponential moving average of the weights with this decay (e.g. 0.99): validation, "
        + "best.safetensors and its metric use the averaged weights.", valueName: "decay"))
    var ema: Float?

    func validate() throws {
        try FlagRange.positive(learningRate, "--learning-rate", atMost: 10)
        try FlagRange.check(minLr, "--min-lr", in: 0...learningRate)
        try FlagRange.check(weightDecay, "--weight-decay", in: 0...1)
        try FlagRange.below(momentum, "--momentum", 1)
        try FlagRange.check(clip, "--clip", in: 0...1e6)
        try FlagRange.check(warmup, "--warmup", in: 0...1_000_000_000)
        try FlagRange.check(patience, "--patience", in: 0...1_000_000)
        try FlagRange.below(ema, "--ema", 1)
    }

    /// Writes the flags into `o`.
    func apply(to o: inout TrainingOptions) {
        (o.learningRate, o.optimizer, o.weightDecay, o.nesterov) = (learningRate, optimizer, weightDecay, nesterov)
        o.momentum = momentum ?? (optimizer == .adam || optimizer == .adamw ? 0.9 : (optimizer == .sgd ? 0.9 : 0.999))
        (o.schedule, o.warmupSteps, o.minimumLearningRate, o.plateauPatience) = (schedule, warmup, minLr, patience)
        o.gradientClipping = clip > 0 ? clip : nil
        o.emaDecay = ema
    }
}

extension TrainingOptions.OptimizerKind: ExpressibleByArgument {}
extension Schedule.Kind: ExpressibleByArgument {}
