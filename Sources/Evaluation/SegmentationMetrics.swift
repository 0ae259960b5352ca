/// The standard segmentation metrics of a confusion matrix.
///
/// Per class `c` with `TP`, `FP`, `FN`: IoU `TP / (TP + FP + FN)`, Dice `2TP / (2TP + FP + FN)`, accuracy
/// (= recall) `TP / (TP + FN)`, precision `TP / (TP + FP)`. A class absent from both the prediction and the
/// ground truth has no defined IoU or Dice: by default (`EmptyClass.exclude`, as segmentation_models_pytorch
/// and MONAI's `ignore_empty=True`) it is reported as null and left out of the means; `EmptyClass.one` scores it
/// 1 instead (MONAI's `ignore_empty=False`). Class accuracy and recall are undefined for a class absent from the
/// ground truth, precision for one never predicted; those are null and left out of their means too.
public struct SegmentationMetrics: Codable, Equatable, Sendable {
    /// How to score a class absent from both prediction and ground truth.
    public enum EmptyClass: String, Codable, Sendable, CaseIterable {
        /// Undefined: null, and left out of the means.
        case exclude
        /// A perfect score of 1.
        case one
    }

    /// Correct pixels over counted pixels.
    public let pixelAccuracy: Double
    /// Mean of the per-class accuracies that are defined.
    public let meanAccuracy: Double
    public let perClassAccuracy: [Double?]
    public let meanIoU: Double
    public let perClassIoU: [Double?]
    public let meanDice: Double
    /// Mean Dice without class 0 (the background, by convention).
    public let meanDiceWithoutBackground: Double
    public let perClassDice: [Double?]
    public let perClassPrecision: [Double?]
    public let perClassRecall: [Double?]
    public let confusionMatrix: [[Int]]
    public let emptyClass: EmptyClass

    /// JSON keys in snake case (`unet evaluate --json`, the demo's `metrics.json`).
    enum CodingKeys: String, CodingKey {
        case pixelAccuracy = "pixel_accuracy", meanAccuracy = "mean_accuracy", perClassAccuracy = "per_class_accuracy"
        case meanIoU = "mean_iou", perClassIoU = "per_class_iou", meanDice = "mean_dice"
        case meanDiceWithoutBackground = "mean_dice_no_background", perClassDice = "per_class_dice"
        case perClassPrecision = "per_class_precision", perClassRecall = "per_class_recall"
        case confusionMatrix = "confusion_matrix", emptyClass = "empty_class"
    }

    public init(_ matrix: ConfusionMatrix, emptyClass: EmptyClass = .exclude) {
        self.emptyClass = emptyClass
        let classes = 0..<matrix.classes
        let tp = classes.map { Double(matrix.truePositives($0)) }
        let fp = classes.map { Double(matrix.falsePositives($0)) }
        let fn = classes.map { Double(matrix.falseNegatives($0)) }
        func ratio(_ numerator: Double, _ denominator: Double) -> Double? { denominator > 0 ? numerator / denominator : nil }
        func overlap(_ c: Int, _ value: (Int) -> Double?) -> Double? {
            let empty = tp[c] + fp[c] + fn[c] == 0
            return empty ? (emptyClass == .one ? 1 : nil) : value(c)
        }
        perClassIoU = classes.map { c in overlap(c) { ratio(tp[$0], tp[$0] + fp[$0] + fn[$0]) } }
        perClassDice = classes.map { c in overlap(c) { ratio(2 * tp[$0], 2 * tp[$0] + fp[$0] + fn[$0]) } }
        perClassRecall = classes.map { ratio(tp[$0], tp[$0] + fn[$0]) }
        perClassAccuracy = perClassRecall
        perClassPrecision = classes.map { ratio(tp[$0], tp[$0] + fp[$0]) }
        pixelAccuracy = ratio(tp.reduce(0, +), Double(matrix.total)) ?? 0
        meanAccuracy = Self.mean(perClassAccuracy)
        meanIoU = Self.mean(perClassIoU)
        meanDice = Self.mean(perClassDice)
        meanDiceWithoutBackground = Self.mean(Array(perClassDice.dropFirst()))
        confusionMatrix = classes.map { t in classes.map { matrix.count(truth: t, predicted: $0) } }
    }

    /// The mean of the defined values (0 when none is).
    static func mean(_ values: [Double?]) -> Double {
        let defined = values.compactMap { $0 }
        return defined.isEmpty ? 0 : defined.reduce(0, +) / Double(defined.count)
    }
}
