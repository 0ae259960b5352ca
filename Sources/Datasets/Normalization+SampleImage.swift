import Tensors

extension Normalization {
    /// Normalises `image` in place (nothing when mean and std are not given for its channel count).
    public func apply(_ image: inout SampleImage) {
        guard let mean, let std, mean.count == image.channels, std.count == image.channels else { return }
        let plane = image.height * image.width
        for c in 0..<image.channels {
            for i in (c * plane)..<((c + 1) * plane) { image.values[i] = (image.values[i] - mean[c]) / std[c] }
        }
    }
}
