import Foundation
import Evaluation

/// The readable form of segmentation metrics: a per-class table, the means, and the confusion matrix.
enum MetricsTable {
    /// - Parameter names: a label per class (its mask value, or its index).
    static func lines(_ m: SegmentationMetrics, names: [String]) -> [String] {
        func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "-" }
        func padded(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
        }
        let classes = m.confusionMatrix.count
        let nameWidth = max(5, names.map(\.count).max() ?? 0)
        var lines = [padded("class", nameWidth) + "      IoU     Dice  precision   recall     pixels"]
        for c in 0..<classes {
            let pixels = m.confusionMatrix[c].reduce(0, +)
            lines.append(padded(c < names.count ? names[c] : "\(c)", nameWidth) + padded(number(m.perClassIoU[c]), 9)
                + padded(number(m.perClassDice[c]), 9) + padded(number(m.perClassPrecision[c]), 11)
                + padded(number(m.perClassRecall[c]), 9) + padded("\(pixels)", 11))
        }
        lines.append(String(format: "pixel accuracy %.4f, mean accuracy %.4f, mean IoU %.4f, mean Dice %.4f (without class 0: %.4f)",
                            m.pixelAccuracy, m.meanAccuracy, m.meanIoU, m.meanDice, m.meanDiceWithoutBackground))
        if m.perClassIoU.contains(where: { $0 == nil }) {
            lines.append(m.emptyClass == .exclude
                ? "'-': a class absent from both prediction and truth, left out of the means (--empty-class one scores it 1)"
                : "classes absent from both prediction and truth score 1 (--empty-class one)")
        }
        lines.append("confusion matrix (rows: truth, columns: prediction):")
        let width = max(8, (m.confusionMatrix.joined().max() ?? 0).description.count + 2, (names.map(\.count).max() ?? 0) + 2)
        lines.append(padded("", nameWidth) + (0..<classes).map { padded(c(names, $0), width) }.joined())
        for (t, row) in m.confusionMatrix.enumerated() {
            lines.append(padded(c(names, t), nameWidth) + row.map { padded("\($0)", width) }.joined())
        }
        return lines
    }

    private static func c(_ names: [String], _ i: Int) -> String { i < names.count ? names[i] : "\(i)" }
}
