/// The intensities of one image channel over a dataset, on the [0, 1] scale the images are read at (pixels divided
/// by the format's maximum).
public struct ChannelStatistics: Codable, Sendable, Equatable {
    public var mean: Double
    public var std: Double
    /// The 0.5th and 99.5th percentiles (nnU-Net's clipping points).
    public var percentile0_5: Double
    public var percentile99_5: Double
    /// The darkest and the brightest value.
    public var minimum: Double
    public var maximum: Double
    /// The 0.5th and 99.5th percentiles of the foreground's pixels (every class but the first, as nnU-Net collects
    /// them for its CT normalization); nil without foreground.
    public var foreground0_5: Double?
    public var foreground99_5: Double?
    /// The mean and standard deviation of the values clipped to `clippingRange` (what a z-score after clipping
    /// divides by); nil: not measured.
    public var clippedMean: Double?
    public var clippedStd: Double?

    /// Statistics whose extremes are the percentiles unless given.
    public init(mean: Double, std: Double, percentile0_5: Double, percentile99_5: Double, minimum: Double? = nil, maximum: Double? = nil,
                foreground0_5: Double? = nil, foreground99_5: Double? = nil) {
        self.mean = mean
        self.std = std
        self.percentile0_5 = percentile0_5
        self.percentile99_5 = percentile99_5
        self.minimum = minimum ?? percentile0_5
        self.maximum = maximum ?? percentile99_5
        self.foreground0_5 = foreground0_5
        self.foreground99_5 = foreground99_5
    }

    /// The range that clipping keeps: the 0.5th-99.5th percentiles, widened to the foreground's.
    public var clippingRange: ClosedRange<Double> {
        min(percentile0_5, foreground0_5 ?? percentile0_5)...max(percentile99_5, foreground99_5 ?? percentile99_5)
    }

    /// Whether a few outlying values stretch the range: the extremes lie more than twice as far apart as
    /// `clippingRange`'s ends, so that a z-score would squeeze the other 99% of the values together.
    public var hasOutliers: Bool {
        let kept = clippingRange
        return maximum - minimum > 2 * max(kept.upperBound - kept.lowerBound, 1e-6)
    }
}
