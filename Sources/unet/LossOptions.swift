import ArgumentParser
import Training

/// The loss of `unet train` (Dice + cross-entropy by default, as milesial's).
struct LossOptions: ParsableArguments {
    @Option(help: "Loss.") var loss: LossFunction.Kind = .diceCE
    @Option(help: ArgumentHelp("Cross-entropy class weights, e.g. 0.2,1,1.", valueName: "weights")) var classWeights: String?
    @Flag(help: "Leave the background (class 0) out of the Dice term.") var diceNoBackground = false
    @Option(help: "Focal loss gamma.") var focalGamma: Float = 2

    func validate() throws {
        try FlagRange.check(focalGamma, "--focal-gamma", in: 0...10)
        if let weights = try NumberList.parse(classWeights, "--class-weights") {
            try FlagRange.each(weights, "--class-weights", { $0.isFinite && $0 >= 0 }, "finite and at least 0")
            guard weights.contains(where: { $0 > 0 }) else { throw ValidationError("--class-weights: every weight is 0") }
        }
    }

    /// The loss for a model of `classes` classes.
    /// - Throws: `ValidationError` when the class weights do not fit the classes.
    func lossFunction(classes: Int) throws -> LossFunction {
        let weights = try NumberList.parse(classWeights, "--class-weights")
        if let weights, classes > 1, weights.count != classes {
            throw ValidationError("--class-weights: \(weights.count) weight(s) for \(classes) classes")
        }
        return LossFunction(kind: loss, classWeights: weights, diceIncludesBackground: !diceNoBackground, focalGamma: focalGamma)
    }
}

extension LossFunction.Kind: ExpressibleByArgument {}
