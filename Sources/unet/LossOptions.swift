import ArgumentParser
import Training

/// The loss of `unet train` (Dice + cross-entropy by default, as milesial's).
struct LossOptions: ParsableArguments {
    @Option(help: "Loss.") var loss: LossFunction.Kind = .diceCE
    @Option(help: ArgumentHelp("Cross-entropy class weights, e.g. 0.2,1,1.", valueName: "weights")) var classWeights: String?
    @Flag var diceBackground: DiceBackground?
    @Option(help: "Focal loss gamma.") var focalGamma: Float = 2

    func validate() throws {
        try FlagRange.check(focalGamma, "--focal-gamma", in: 0...10)
        if let weights = try NumberList.parse(classWeights, "--class-weights") {
            try FlagRange.each(weights, "--class-weights", { $0.isFinite && $0 >= 0 }, "finite and at least 0")
            guard weights.contains(where: { $0 > 0 }) else { throw ValidationError("--class-weights: every weight is 0") }
        }
    }

    /// Whether the Dice term averages over the background (class 0).
    enum DiceBackground: EnumerableFlag {
        case diceBackground, diceNoBackground

        static func help(for value: DiceBackground) -> ArgumentHelp? {
            switch value {
            case .diceBackground: "Average the Dice term over every class, the background (class 0) too (default; nnunet: without)."
            case .diceNoBackground: "Leave the background (class 0) out of the Dice term."
            }
        }
    }

    /// The loss for a model of `classes` classes; without `--dice-background`/`--dice-no-background`, the Dice term
    /// includes the background as `includesBackground` says.
    /// - Throws: `ValidationError` when the class weights do not fit the classes.
    func lossFunction(classes: Int, includesBackground: Bool = true) throws -> LossFunction {
        let weights = try NumberList.parse(classWeights, "--class-weights")
        if let weights, classes > 1, weights.count != classes {
            throw ValidationError("--class-weights: \(weights.count) weight(s) for \(classes) classes")
        }
        return LossFunction(kind: loss, classWeights: weights, diceIncludesBackground: diceBackground.map { $0 == .diceBackground } ?? includesBackground, focalGamma: focalGamma)
    }
}

extension LossFunction.Kind: ExpressibleByArgument {}
