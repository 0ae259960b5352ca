/// What a dataset's masks say about one class: how much of the labelled area it covers, how many separate regions
/// it forms and how large and how thick they are (pixels at the data's own resolution), and where in the images it
/// lies (rows split in thirds).
public struct ClassFingerprint: Codable, Sendable, Equatable {
    /// The class's mask value (`[v]` or `[r, g, b]`).
    public var maskValue: [Int]
    /// The share of labelled pixels in this class.
    public var frequency: Double
    /// Connected regions counted over the measured masks (regions of fewer than `ClassFingerprint.minimumArea` pixels
    /// are left out as noise).
    public var regions: Int
    /// The median and the 90th percentile of the regions' sizes (`ComponentMeasure.diameter`), weighted by their
    /// pixels (the size of the region a typical pixel of the class lies in); 0 without regions.
    public var medianSize: Double
    public var size90: Double
    /// The median thickness (`ComponentMeasure.thickness`: the width of a band, the radius of a blob), weighted by the
    /// regions' pixels.
    public var medianThickness: Double
    /// The shares of this class's pixels in the top and the bottom third of the images.
    public var topShare: Double
    public var bottomShare: Double

    /// Regions smaller than this many pixels are not measured.
    public static let minimumArea = 4

    public init(maskValue: [Int], frequency: Double, regions: Int, medianSize: Double, size90: Double, medianThickness: Double,
                topShare: Double, bottomShare: Double) {
        self.maskValue = maskValue
        self.frequency = frequency
        self.regions = regions
        self.medianSize = medianSize
        self.size90 = size90
        self.medianThickness = medianThickness
        self.topShare = topShare
        self.bottomShare = bottomShare
    }

    /// Whether the class lies mostly in the top or mostly in the bottom of the images (sky, road), so that a vertical
    /// flip shows the model scenes it never meets. Classes under 1% of the pixels do not count.
    public var isUpright: Bool {
        guard frequency >= 0.01 else { return false }
        let (top, bottom) = (max(topShare, 1e-6), max(bottomShare, 1e-6))
        return top / bottom > 3 || bottom / top > 3
    }
}
