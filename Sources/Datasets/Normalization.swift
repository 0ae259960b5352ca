/// Input normalisation after scaling pixels to [0, 1]: nothing (milesial, the course lab), or
/// `(x − mean[c]) / std[c]` per channel (ImageNet-style statistics).
public struct Normalization: Sendable, Equatable, Codable {
    public var mean: [Float]?
    public var std: [Float]?

    public init(mean: [Float]? = nil, std: [Float]? = nil) {
        self.mean = mean
        self.std = std
    }

    /// Normalises `image` in place.
    public func apply(_ image: inout SampleImage) {
        guard let mean, let std, mean.count == image.channels, std.count == image.channels else { return }
        let plane = image.height * image.width
        for c in 0..<image.channels {
            for i in (c * plane)..<((c + 1) * plane) { image.values[i] = (image.values[i] - mean[c]) / std[c] }
        }
    }
}
