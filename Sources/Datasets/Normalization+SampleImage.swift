import Tensors

extension Normalization {
    /// Normalises `image` in place, in this order: back to the format's units (`rawIntensities`: times
    /// `image.formatMaximum`), each channel clipped to `[lower, upper]`, then each channel by its own mean and standard
    /// deviation (`perImage`, as nnU-Net's z-score: population standard deviation, at least 1e-8) or by the given mean
    /// and std (nothing when they are not given for its channel count).
    public func apply(_ image: inout SampleImage) {
        let plane = image.height * image.width
        if rawIntensities == true {
            let maximum = image.formatMaximum
            for i in image.values.indices { image.values[i] *= maximum }
        }
        if let lower, let upper, lower.count == image.channels, upper.count == image.channels {
            for c in 0..<image.channels {
                for i in (c * plane)..<((c + 1) * plane) { image.values[i] = min(max(image.values[i], lower[c]), upper[c]) }
            }
        }
        if perImage == true {
            guard plane > 0 else { return }
            for c in 0..<image.channels {
                let range = (c * plane)..<((c + 1) * plane)
                let mean = range.reduce(0.0) { $0 + Double(image.values[$1]) } / Double(plane)
                let variance = range.reduce(0.0) { $0 + (Double(image.values[$1]) - mean) * (Double(image.values[$1]) - mean) } / Double(plane)
                let std = max(variance.squareRoot(), 1e-8)
                for i in range { image.values[i] = Float((Double(image.values[i]) - mean) / std) }
            }
            return
        }
        guard let mean, let std, mean.count == image.channels, std.count == image.channels else { return }
        for c in 0..<image.channels {
            for i in (c * plane)..<((c + 1) * plane) { image.values[i] = (image.values[i] - mean[c]) / std[c] }
        }
    }
}
