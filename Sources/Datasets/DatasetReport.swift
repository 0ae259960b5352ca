import Foundation

/// What a pass over a dataset found: counts, sizes, channels, mask values and class balance.
public struct DatasetReport: Sendable {
    public var samples = 0
    public var minimumSize: [Int] = []
    public var maximumSize: [Int] = []
    /// Channel counts of the images (alpha included), with how many images have each.
    public var imageChannels: [Int: Int] = [:]
    /// Distinct mask values (`[v]` or `[r, g, b]`) with their pixel counts.
    public var maskValues: [[Int]: Int] = [:]
    /// Pixels of each class after mapping, and ignored pixels.
    public var classPixels: [Int] = []
    public var ignoredPixels = 0
    public var classTable: [[Int]] = []

    mutating func addImage(width: Int, height: Int, channels: Int) {
        samples += 1
        let size = [width, height]
        minimumSize = minimumSize.isEmpty ? size : zip(minimumSize, size).map { min($0, $1) }
        maximumSize = maximumSize.isEmpty ? size : zip(maximumSize, size).map { max($0, $1) }
        imageChannels[channels, default: 0] += 1
    }
}

extension DatasetReport {
    /// What in the report tends to train to blank (all-background) predictions, in words: a single mask value,
    /// many values (lossy or antialiased masks, each value a class), lossy mask files, a nearly absent class,
    /// and 0/1 masks that look black in a viewer but are fine.
    /// - Parameter maskPaths: the mask files, to spot lossy formats.
    public func warnings(maskPaths: [String]) -> [String] {
        var warnings: [String] = []
        let values = maskValues.keys.sorted { MaskValues.pack($0) < MaskValues.pack($1) }
        let total = maskValues.values.reduce(0, +)
        if values.count == 1 {
            warnings.append("every mask holds the one value \(values[0]): a model trains to a constant (all-black) "
                + "prediction. Are these the mask files?")
        }
        if values.count > 16 {
            let examples = values.prefix(6).map { "\($0)" }.joined(separator: ", ")
            warnings.append("\(values.count) distinct mask values (\(examples), ...): masks saved lossily (JPEG), with "
                + "antialiased edges, or photographs? Each value becomes a class. Map the real classes with --mask-values "
                + "and re-save the masks losslessly (PNG)")
        }
        let lossy = maskPaths.filter { ["jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }
        if !lossy.isEmpty {
            warnings.append("\(lossy.count) mask(s) are JPEG files (\(lossy[0]), ...): lossy compression adds values at "
                + "every edge; save masks as PNG")
        }
        let counted = classPixels.reduce(0, +)
        for (c, pixels) in classPixels.enumerated() where counted > 0 && Double(pixels) / Double(counted) < 0.001 {
            let value = c < classTable.count ? "\(classTable[c])" : "?"
            warnings.append(String(format: "class %d (mask value %@) covers %.3f%% of the labelled pixels: a model may learn "
                + "never to predict it (Dice loss, class weights or crops around it help)", c, value,
                100 * Double(pixels) / Double(counted)))
        }
        if Set(values) == [[0], [1]] && total > 0 {
            warnings.append("the masks hold 0 and 1, so they look black in an image viewer; that is fine: "
                + "the class table is [0, 1] (Carvana's masks are the same)")
        }
        return warnings
    }
}
