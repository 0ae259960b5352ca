import Foundation
import Planning

/// `unet plan`'s and `unet train --auto`'s short tables: the fingerprint, then each decision with its reason.
enum RecipeText {
    static func lines(_ f: DatasetFingerprint, _ recipe: Recipe) -> [String] {
        var lines = ["fingerprint:"]
        func size(_ widthHeight: [Int]) -> String { widthHeight.map(String.init).joined(separator: "x") }
        lines.append("  \(f.images) images, median \(size(f.medianSize)) (\(size(f.minimumSize)) to \(size(f.maximumSize))), "
            + "\(f.sourceChannels == 1 ? "gray" : "colour")"
            + (f.ignoredShare > 0 ? String(format: ", %.1f%% of pixels unlabelled or outside the regions of interest", 100 * f.ignoredShare) : ""))
        lines.append("  intensity per channel (mean ± std, 0.5-99.5th percentile, extremes): " + f.channels.map {
            String(format: "%.3f ± %.3f (%.3f-%.3f, %.3f-%.3f)", $0.mean, $0.std, $0.percentile0_5, $0.percentile99_5, $0.minimum, $0.maximum)
        }.joined(separator: ", "))
        for (c, k) in f.classes.enumerated() {
            lines.append(String(format: "  class %d %@: %.2f%% of pixels, %d regions, size %.0f px (90th %.0f), thickness %.1f px, "
                                + "top/bottom third %.0f%%/%.0f%%", c, "\(k.maskValue)", 100 * k.frequency, k.regions, k.medianSize,
                                k.size90, k.medianThickness, 100 * k.topShare, 100 * k.bottomShare))
        }
        lines.append(String(format: "recipe (budget %@, %.2f s a step measured):", durationText(recipe.budgetSeconds), recipe.secondsPerStep))
        let width = recipe.decisions.map(\.flag.count).max() ?? 0
        let valueWidth = min(recipe.decisions.map(\.value.count).max() ?? 0, 24)
        for d in recipe.decisions {
            lines.append("  " + d.flag.padding(toLength: width, withPad: " ", startingAt: 0) + " "
                + d.value.padding(toLength: max(valueWidth, d.value.count), withPad: " ", startingAt: 0) + "  " + d.reason)
        }
        return lines
    }
}
