import ImageIO

/// An image as the network reads it: `channels` planes of `height × width` float32 values (CHW), scaled to
/// [0, 1] by the format's maximum (255 or 65535).
public struct SampleImage: Sendable {
    public var channels: Int
    public var height: Int
    public var width: Int
    /// Channel-major (`CHW`) values.
    public var values: [Float]
    /// The format's maximum the values were divided by (255 for 8-bit images, 65535 for 16-bit): `values ×
    /// formatMaximum` are the file's own intensities (`Normalization.rawIntensities`).
    public var formatMaximum: Float

    public init(channels: Int, height: Int, width: Int, values: [Float], formatMaximum: Float = 255) {
        (self.channels, self.height, self.width, self.values) = (channels, height, width, values)
        self.formatMaximum = formatMaximum
    }

    /// Converts a decoded image to `channels` planes: an image of as many channels as the model takes is read as it
    /// is (a 2- or 4-channel model reads its second or fourth channel as data, as PyTorch's pipelines do), else
    /// alpha is dropped, gray is replicated to RGB, RGB is reduced to gray by luminance (0.299 R + 0.587 G + 0.114 B)
    /// for a one-channel model.
    /// - Throws: `DatasetProblem` naming `path` when the channels cannot be converted.
    public init(_ image: Image, channels wanted: Int, path: String) throws(DatasetProblem) {
        let source = image.channels == wanted || (image.channels != 2 && image.channels != 4) ? image.channels : image.channels - 1
        let maximum: Float = image.bitDepth == 16 ? 65535 : 255
        let scale = 1 / maximum
        let (h, w, c) = (image.height, image.width, image.channels)
        let plane = h * w
        func sample(_ pixel: Int, _ channel: Int) -> Float { Float(image.samples[pixel * c + channel]) * scale }
        var values = [Float](repeating: 0, count: wanted * plane)
        switch (source, wanted) {
        case let (s, w) where s == w:
            for ch in 0..<w { for p in 0..<plane { values[ch * plane + p] = sample(p, ch) } }
        case (1, _):
            for ch in 0..<wanted { for p in 0..<plane { values[ch * plane + p] = sample(p, 0) } }
        case (3, 1):
            for p in 0..<plane { values[p] = 0.299 * sample(p, 0) + 0.587 * sample(p, 1) + 0.114 * sample(p, 2) }
        default:
            throw DatasetProblem(path, "has \(source) channel\(source == 1 ? "" : "s"); the model takes \(wanted)")
        }
        self.init(channels: wanted, height: h, width: w, values: values, formatMaximum: maximum)
    }

    /// Resized with Catmull-Rom cubic interpolation (PIL's `BICUBIC`, milesial's image scaling).
    public func resized(width newWidth: Int, height newHeight: Int, filter: ImageResampler.Filter = .bicubic) -> SampleImage {
        let plane = height * width
        var interleaved = [Float](repeating: 0, count: values.count)
        for ch in 0..<channels { for p in 0..<plane { interleaved[p * channels + ch] = values[ch * plane + p] } }
        guard let resized = ImageResampler.resize(interleaved, width: width, height: height, channels: channels,
                                                  newWidth: newWidth, newHeight: newHeight, filter: filter)
        else { return self }
        let newPlane = newWidth * newHeight
        var planes = [Float](repeating: 0, count: channels * newPlane)
        for ch in 0..<channels { for p in 0..<newPlane { planes[ch * newPlane + p] = resized[p * channels + ch] } }
        return SampleImage(channels: channels, height: newHeight, width: newWidth, values: planes, formatMaximum: formatMaximum)
    }
}

/// A mask as the loss reads it: one class index per pixel, `SampleMask.ignored` where the pixel does not count.
public struct SampleMask: Sendable, Equatable {
    /// The class index of pixels excluded from loss and metrics.
    public static let ignored: Int32 = -1

    public var height: Int
    public var width: Int
    public var classes: [Int32]

    public init(height: Int, width: Int, classes: [Int32]) {
        (self.height, self.width, self.classes) = (height, width, classes)
    }

    /// Resized by nearest neighbour (milesial's mask scaling), so that no new values appear.
    public func resized(width newWidth: Int, height newHeight: Int) -> SampleMask {
        var out = [Int32](repeating: 0, count: newWidth * newHeight)
        for y in 0..<newHeight {
            let sy = min(height - 1, Int((Double(y) + 0.5) * Double(height) / Double(newHeight)))
            for x in 0..<newWidth {
                let sx = min(width - 1, Int((Double(x) + 0.5) * Double(width) / Double(newWidth)))
                out[y * newWidth + x] = classes[sy * width + sx]
            }
        }
        return SampleMask(height: newHeight, width: newWidth, classes: out)
    }
}
