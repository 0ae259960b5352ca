import Tensors

/// The training loss, as `--loss` names it. Targets are class indices per pixel with `-1` for ignored pixels
/// (the mask's ignore value, or outside the region of interest), which count in neither loss nor gradient.
public struct LossFunction: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Cross-entropy (binary cross-entropy with logits for one class) plus soft Dice: the default.
        case diceCE = "dice-ce"
        /// Cross-entropy, or binary cross-entropy for one class.
        case ce
        /// Soft Dice.
        case dice
        /// Focal loss (Lin et al.), `γ` = `focalGamma`.
        case focal
    }

    public var kind: Kind
    /// Per-class weights of the cross-entropy term (PyTorch `weight=`).
    public var classWeights: [Float]?
    /// Whether Dice averages over class 0 too; false leaves the background out (multi-class only).
    public var diceIncludesBackground: Bool
    public var focalGamma: Float

    public init(kind: Kind = .diceCE, classWeights: [Float]? = nil, diceIncludesBackground: Bool = true,
                focalGamma: Float = 2) {
        self.kind = kind
        self.classWeights = classWeights
        self.diceIncludesBackground = diceIncludesBackground
        self.focalGamma = focalGamma
    }

    /// Whether this loss has a Dice term that leaves the background (class 0) out for a network of `classes`
    /// output channels (`SegmentationLoss.diceClasses`).
    public func leavesDiceBackground(classes: Int) -> Bool {
        [.dice, .diceCE].contains(kind) && SegmentationLoss.diceClasses(classes, includeBackground: diceIncludesBackground).lowerBound > 0
    }

    /// The mean loss over the counted pixels and its gradient with respect to `logits` `(N, C, H, W)`.
    public func callAsFunction(logits: Tensor, targets: [Int32]) throws -> (loss: Float, gradient: Tensor) {
        let binary = logits.rank == 4 && logits.shape[1] == 1
        switch kind {
        case .ce:
            return binary ? try SegmentationLoss.binaryCrossEntropy(logits: logits, targets: targets)
                : try SegmentationLoss.crossEntropy(logits: logits, targets: targets, classWeights: classWeights)
        case .dice:
            return try SegmentationLoss.softDice(logits: logits, targets: targets, includeBackground: diceIncludesBackground)
        case .focal:
            return try SegmentationLoss.focal(logits: logits, targets: targets, gamma: focalGamma)
        case .diceCE:
            // One softmax (sigmoid for one class) for both terms; Dice's gradient is added to cross-entropy's as it
            // is computed.
            let (n, c, plane) = try SegmentationLoss.dimensions(logits, targets, minimumClasses: 1)
            let probabilities = SegmentationLoss.probabilities(logits, n, c, plane)
            var (ce, gradient) = binary
                ? SegmentationLoss.binaryCrossEntropy(logits: logits, probabilities: probabilities, targets: targets, n, plane)
                : try SegmentationLoss.crossEntropy(probabilities: probabilities, targets: targets, classWeights: classWeights, n, c, plane)
            let dice = SegmentationLoss.softDice(
                probabilities: probabilities, targets: targets, epsilon: SegmentationLoss.diceEpsilon,
                includeBackground: diceIncludesBackground, n, c, plane, gradient: &gradient, adding: true)
            return (ce + dice, gradient)
        }
    }
}
