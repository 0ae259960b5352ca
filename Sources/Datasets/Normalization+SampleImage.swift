import Tensors

extension Normalization {
    /// Normalises `image` in place, in this order: back to the format's units (`rawIntensities`: times
    /// `image.formatMaximum`), each channel clipped to `[lower, upper]`, then each channel by its own mean and standard
    /// deviation (`perImage`, as nnU-Net's z-score: population standard deviation, at least 1e-8; with `insideNonzero`
    /// over the nonzero mask's pixels only, the rest left 0) or by the given mean and std (nothing when they are not
    /// given for its channel count).
    public func apply(_ image: inout SampleImage) {
        let plane = image.height * image.width
        let mask = perImage == true && insideNonzero == true ? Self.nonzeroMask(image) : nil
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
            let pixels = mask.map { m in m.indices.filter { m[$0] } } ?? Array(0..<plane)
            guard !pixels.isEmpty else { return }
            for c in 0..<image.channels {
                let offset = c * plane
                let mean = pixels.reduce(0.0) { $0 + Double(image.values[offset + $1]) } / Double(pixels.count)
                let variance = pixels.reduce(0.0) {
                    $0 + (Double(image.values[offset + $1]) - mean) * (Double(image.values[offset + $1]) - mean)
                } / Double(pixels.count)
                let std = max(variance.squareRoot(), 1e-8)
                for i in pixels { image.values[offset + i] = Float((Double(image.values[offset + i]) - mean) / std) }
            }
            return
        }
        guard let mean, let std, mean.count == image.channels, std.count == image.channels else { return }
        for c in 0..<image.channels {
            for i in (c * plane)..<((c + 1) * plane) { image.values[i] = (image.values[i] - mean[c]) / std[c] }
        }
    }

    /// nnU-Net's nonzero mask (`create_nonzero_mask`): the pixels nonzero in any channel, with the holes filled (the
    /// zero pixels no 4-connected path of zero pixels joins to the image's border, as scipy's `binary_fill_holes`).
    /// Row-major, one entry per pixel.
    static func nonzeroMask(_ image: SampleImage) -> [Bool] {
        let (height, width, plane) = (image.height, image.width, image.height * image.width)
        var mask = (0..<plane).map { i in (0..<image.channels).contains { image.values[$0 * plane + i] != 0 } }
        // Zero pixels reached from the border stay outside; every other zero pixel is a hole.
        var outside = [Bool](repeating: false, count: plane)
        var stack = (0..<plane).filter { i in !mask[i] && (i < width || i >= plane - width || i % width == 0 || i % width == width - 1) }
        for i in stack { outside[i] = true }
        while let i = stack.popLast() {
            let (y, x) = (i / width, i % width)
            for (ny, nx) in [(y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)] where (0..<height).contains(ny) && (0..<width).contains(nx) {
                let j = ny * width + nx
                if !mask[j] && !outside[j] {
                    outside[j] = true
                    stack.append(j)
                }
            }
        }
        for i in 0..<plane where !outside[i] { mask[i] = true }
        return mask
    }
}
