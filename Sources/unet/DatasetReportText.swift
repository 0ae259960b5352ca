import Datasets
import Foundation

/// `unet dataset check`'s report as text and as JSON.
enum DatasetReportText {
    static func lines(_ r: DatasetReport) -> [String] {
        func size(_ s: [Int]) -> String { s.count == 2 ? "\(s[0])x\(s[1])" : "?" }
        func share(_ part: Int, _ whole: Int) -> String { whole > 0 ? String(format: "%.2f%%", 100 * Double(part) / Double(whole)) : "-" }
        var lines = ["samples: \(r.samples) image/mask pairs read"]
        lines.append("image sizes: " + (r.minimumSize == r.maximumSize ? "\(size(r.minimumSize)) (all)"
            : "from \(size(r.minimumSize)) to \(size(r.maximumSize))"))
        lines.append("image channels: " + r.imageChannels.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value) images)" }
            .joined(separator: ", "))
        let total = r.maskValues.values.reduce(0, +)
        let values = r.maskValues.sorted { MaskValues.pack($0.key) < MaskValues.pack($1.key) }
        lines.append("mask values (\(values.count)): " + values.prefix(12).map { "\($0.key.count == 1 ? "\($0.key[0])" : "\($0.key)") "
            + share($0.value, total) }.joined(separator: ", ") + (values.count > 12 ? ", ..." : ""))
        if let table = try? ClassTable(values: r.classTable) { lines.append("class table: \(table)") }
        let counted = r.classPixels.reduce(0, +)
        if counted > 0 {
            lines.append("class balance: " + r.classPixels.enumerated().map { "class \($0.offset) \(share($0.element, counted))" }
                .joined(separator: ", "))
        }
        if r.ignoredPixels > 0 { lines.append("ignored pixels: \(r.ignoredPixels) (\(share(r.ignoredPixels, counted + r.ignoredPixels)))") }
        return lines
    }

    static func jsonObject(_ r: DatasetReport) -> [String: Any] {
        [
            "samples": r.samples, "minimum_size": r.minimumSize, "maximum_size": r.maximumSize,
            "image_channels": Dictionary(uniqueKeysWithValues: r.imageChannels.map { ("\($0.key)", $0.value) }),
            "mask_values": r.maskValues.sorted { MaskValues.pack($0.key) < MaskValues.pack($1.key) }
                .map { ["value": $0.key, "pixels": $0.value] as [String: Any] },
            "class_table": r.classTable, "class_pixels": r.classPixels, "ignored_pixels": r.ignoredPixels,
        ]
    }
}
