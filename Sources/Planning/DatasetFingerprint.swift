import Datasets
import Foundation

/// What `unet plan` reads from a dataset before choosing a recipe (nnU-Net's "dataset fingerprint", for 2-D images):
/// sizes, gray or colour, per-channel intensities, and per class its share of the pixels, the size and thickness of
/// its regions and where in the image it lies. Sizes are pixels at the data's own resolution (scale 1).
public struct DatasetFingerprint: Codable, Sendable, Equatable {
    /// Images measured (at most `maximumImages`, evenly spaced over the dataset).
    public var images: Int
    /// Channels of the files: 1 when every image is gray (alpha aside), else 3.
    public var sourceChannels: Int
    /// Median, smallest and largest `[width, height]`.
    public var medianSize: [Int]
    public var minimumSize: [Int]
    public var maximumSize: [Int]
    /// Per channel of the images (one for gray images).
    public var channels: [ChannelStatistics]
    /// Per class, in class order.
    public var classes: [ClassFingerprint]
    /// The share of pixels outside the regions of interest or of the ignored mask value (0: every pixel is labelled).
    public var ignoredShare: Double

    /// The most images measured: beyond this many, statistics change little and the pass only costs time.
    public static let maximumImages = 256

    public init(images: Int, sourceChannels: Int, medianSize: [Int], minimumSize: [Int], maximumSize: [Int],
                channels: [ChannelStatistics], classes: [ClassFingerprint], ignoredShare: Double) {
        self.images = images
        self.sourceChannels = sourceChannels
        self.medianSize = medianSize
        self.minimumSize = minimumSize
        self.maximumSize = maximumSize
        self.channels = channels
        self.classes = classes
        self.ignoredShare = ignoredShare
    }

    /// Whether some class (of 1% of the pixels or more) keeps to the top or the bottom of the images.
    public var isUpright: Bool { classes.contains(where: \.isUpright) }

    /// Measures `indices` of `dataset` (all of them by default), which should be opened at scale 1.
    /// - Throws: `DatasetProblem` when a file changed since the dataset was opened.
    public static func measure(_ dataset: SegmentationDataset, indices: [Int]? = nil) throws(DatasetProblem) -> DatasetFingerprint {
        let all = indices ?? Array(0..<dataset.count)
        let chosen = all.count <= maximumImages ? all : (0..<maximumImages).map { all[$0 * all.count / maximumImages] }
        let classCount = dataset.table.classes
        let bins = 4096
        var histograms: [[Int]] = []
        var foregroundHistograms: [[Int]] = []
        var extremes: [(minimum: Double, maximum: Double)] = []
        var sums: [Double] = []
        var squares: [Double] = []
        var pixelsPerChannel = 0
        var classPixels = [Int](repeating: 0, count: classCount)
        var topPixels = [Int](repeating: 0, count: classCount)
        var bottomPixels = [Int](repeating: 0, count: classCount)
        var regions = [[ComponentMeasure]](repeating: [], count: classCount)
        var (ignored, total) = (0, 0)
        var sizes: [[Int]] = []
        for index in chosen {
            let (image, mask) = try dataset.sample(index)
            sizes.append([image.width, image.height])
            if histograms.isEmpty {
                histograms = Array(repeating: Array(repeating: 0, count: bins), count: image.channels)
                foregroundHistograms = histograms
                extremes = Array(repeating: (.infinity, -.infinity), count: image.channels)
                (sums, squares) = (Array(repeating: 0, count: image.channels), Array(repeating: 0, count: image.channels))
            }
            let plane = image.height * image.width
            let masked = mask.classes.count == plane
            for c in 0..<min(image.channels, histograms.count) {
                var (sum, square) = (0.0, 0.0)
                var (low, high) = extremes[c]
                for (p, value) in image.values[(c * plane)..<((c + 1) * plane)].enumerated() {
                    let v = Double(value)
                    sum += v
                    square += v * v
                    (low, high) = (min(low, v), max(high, v))
                    let bin = min(max(Int(v * Double(bins)), 0), bins - 1)
                    histograms[c][bin] += 1
                    if masked, (1..<classCount).contains(Int(mask.classes[p])) { foregroundHistograms[c][bin] += 1 }
                }
                extremes[c] = (low, high)
                sums[c] += sum
                squares[c] += square
            }
            pixelsPerChannel += plane
            total += plane
            for y in 0..<mask.height {
                let third = y * 3 / mask.height
                for x in 0..<mask.width {
                    let c = Int(mask.classes[y * mask.width + x])
                    guard c >= 0, c < classCount else { ignored += 1; continue }
                    classPixels[c] += 1
                    if third == 0 { topPixels[c] += 1 }
                    if third == 2 { bottomPixels[c] += 1 }
                }
            }
            for region in ComponentMeasure.measure(mask.classes, height: mask.height, width: mask.width)
            where region.area >= ClassFingerprint.minimumArea && region.classIndex < classCount {
                regions[region.classIndex].append(region)
            }
        }
        let labelled = max(classPixels.reduce(0, +), 1)
        let classes = (0..<classCount).map { c in
            let pixels = max(classPixels[c], 1)
            let sizes = regions[c].map { ($0.diameter, $0.area) }
            let thicknesses = regions[c].map { ($0.thickness, $0.area) }
            return ClassFingerprint(maskValue: dataset.table.values[c], frequency: Double(classPixels[c]) / Double(labelled),
                                    regions: regions[c].count, medianSize: quantile(sizes, 0.5), size90: quantile(sizes, 0.9),
                                    medianThickness: quantile(thicknesses, 0.5),
                                    topShare: Double(topPixels[c]) / Double(pixels), bottomShare: Double(bottomPixels[c]) / Double(pixels))
        }
        let gray = dataset.report.imageChannels.keys.allSatisfy { $0 <= 2 }
        // Gray images read as colour repeat one channel: it is measured once.
        let channels = histograms.indices.prefix(gray ? 1 : histograms.count).map { c in
            let n = Double(max(pixelsPerChannel, 1))
            let mean = sums[c] / n
            let foreground = foregroundHistograms[c].contains { $0 > 0 }
            var statistics = ChannelStatistics(
                mean: mean, std: max(squares[c] / n - mean * mean, 0).squareRoot(),
                percentile0_5: percentile(histograms[c], 0.005), percentile99_5: percentile(histograms[c], 0.995),
                minimum: extremes[c].minimum, maximum: extremes[c].maximum,
                foreground0_5: foreground ? percentile(foregroundHistograms[c], 0.005) : nil,
                foreground99_5: foreground ? percentile(foregroundHistograms[c], 0.995) : nil)
            (statistics.clippedMean, statistics.clippedStd) = moments(histograms[c], within: statistics.clippingRange)
            return statistics
        }
        let widths = sizes.map { $0[0] }.sorted()
        let heights = sizes.map { $0[1] }.sorted()
        return DatasetFingerprint(
            images: chosen.count, sourceChannels: gray ? 1 : 3,
            medianSize: sizes.isEmpty ? [] : [widths[widths.count / 2], heights[heights.count / 2]],
            minimumSize: sizes.isEmpty ? [] : [widths.first!, heights.first!], maximumSize: sizes.isEmpty ? [] : [widths.last!, heights.last!],
            channels: channels, classes: classes, ignoredShare: Double(ignored) / Double(max(total, 1)))
    }

    /// The `q` quantile of values weighted by their counts (a region's measure weighted by its pixels: the size of the
    /// region a typical pixel lies in, which a crowd of specks does not sway); 0 for none.
    static func quantile(_ values: [(value: Double, weight: Int)], _ q: Double) -> Double {
        let sorted = values.sorted { $0.value < $1.value }
        let total = sorted.reduce(0) { $0 + $1.weight }
        var seen = 0
        for (value, weight) in sorted {
            seen += weight
            if Double(seen) >= q * Double(total) { return value }
        }
        return sorted.last?.value ?? 0
    }

    /// The mean and standard deviation of a [0, 1] histogram's values (the bins' centres) clipped to `range`.
    static func moments(_ histogram: [Int], within range: ClosedRange<Double>) -> (mean: Double, std: Double) {
        var (count, sum, square) = (0.0, 0.0, 0.0)
        for (bin, n) in histogram.enumerated() where n > 0 {
            let v = min(max((Double(bin) + 0.5) / Double(histogram.count), range.lowerBound), range.upperBound)
            (count, sum, square) = (count + Double(n), sum + Double(n) * v, square + Double(n) * v * v)
        }
        guard count > 0 else { return (0, 0) }
        let mean = sum / count
        return (mean, max(square / count - mean * mean, 0).squareRoot())
    }

    /// The value below which `q` of a [0, 1] histogram's counts lie (the bin's centre).
    static func percentile(_ histogram: [Int], _ q: Double) -> Double {
        let total = histogram.reduce(0, +)
        guard total > 0 else { return 0 }
        var seen = 0
        for (bin, count) in histogram.enumerated() {
            seen += count
            if Double(seen) >= q * Double(total) { return (Double(bin) + 0.5) / Double(histogram.count) }
        }
        return 1
    }
}
