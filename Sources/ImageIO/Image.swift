/// A decoded raster image: `height` rows of `width` pixels with `channels` interleaved samples each
/// (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA), at 8 or 16 bits per sample. Samples are stored as `UInt16`
/// whatever the bit depth, so 8-bit values stay 0...255 and 16-bit values 0...65535.
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// 8 or 16.
    public let bitDepth: Int
    /// Row-major, channel-interleaved (`HWC`) samples.
    public var samples: [UInt16]

    /// - Throws: `ImageError` when the sample count or a parameter is invalid.
    public init(width: Int, height: Int, channels: Int, bitDepth: Int = 8, samples: [UInt16]) throws(ImageError) {
        guard width > 0, height > 0, (1...4).contains(channels), bitDepth == 8 || bitDepth == 16 else {
            throw ImageError("image", "invalid image \(width)x\(height), \(channels) channels, \(bitDepth) bits")
        }
        guard samples.count == width * height * channels else {
            throw ImageError("image", "\(width)x\(height)x\(channels) needs \(width * height * channels) samples, got \(samples.count)")
        }
        let maximum = bitDepth == 8 ? 255 : 65535
        guard samples.allSatisfy({ Int($0) <= maximum }) else {
            throw ImageError("image", "sample above \(maximum) in a \(bitDepth)-bit image")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = bitDepth
        self.samples = samples
    }

    /// The sample of `channel` at pixel (`x`, `y`).
    public subscript(x: Int, y: Int, channel: Int) -> UInt16 {
        samples[(y * width + x) * channels + channel]
    }
}
