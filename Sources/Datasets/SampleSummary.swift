/// What the validation pass keeps of a sample: its statistics, and the decoded sample itself when caching.
struct SampleSummary: Sendable {
    let paths: SamplePaths
    let width: Int
    let height: Int
    let sourceChannels: Int
    let valueCounts: [Int: Int]
    /// Pixels outside the region of interest.
    let excludedPixels: Int
    let decoded: DecodedSample?

    init(_ sample: DecodedSample, keep: Bool) {
        paths = sample.paths
        (width, height, sourceChannels) = (sample.image.width, sample.image.height, sample.sourceChannels)
        valueCounts = sample.valueCounts
        excludedPixels = sample.scaledValues.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
        decoded = keep ? sample : nil
    }
}
