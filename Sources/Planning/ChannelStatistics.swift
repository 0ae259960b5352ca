/// The intensities of one image channel over a dataset, on the [0, 1] scale the images are read at (pixels divided
/// by the format's maximum).
public struct ChannelStatistics: Codable, Sendable, Equatable {
    public var mean: Double
    public var std: Double
    /// The 0.5th and 99.5th percentiles (nnU-Net's clipping points).
    public var percentile0_5: Double
    public var percentile99_5: Double

    public init(mean: Double, std: Double, percentile0_5: Double, percentile99_5: Double) {
        self.mean = mean
        self.std = std
        self.percentile0_5 = percentile0_5
        self.percentile99_5 = percentile99_5
    }
}
