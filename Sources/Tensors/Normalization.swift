/// Input normalisation after pixels are divided by the format maximum (255 for 8-bit, 65535 for 16-bit): nothing
/// (milesial, the course lab), `(x − mean[c]) / std[c]` per channel (ImageNet-style statistics), or each image's own
/// per-channel z-score `(x − mean) / max(std, 1e-8)` (`perImage`, nnU-Net's `ZScoreNormalization`); values may be
/// clipped to `[lower[c], upper[c]]` first (percentile clipping, nnU-Net's `CTNormalization`). With `rawIntensities`
/// the values, and `mean`, `std`, `lower` and `upper` with them, are in the image format's own units (0-255, 0-65535)
/// as nnU-Net reads images. Datasets apply it; native model files record it (`ModelMetadata`) so that prediction
/// reproduces training.
public struct Normalization: Sendable, Equatable, Codable {
    public var mean: [Float]?
    public var std: [Float]?
    /// Each image normalised by its own per-channel mean and standard deviation (then `mean`/`std` are not used).
    public var perImage: Bool?
    /// With `perImage`: the mean and standard deviation are taken over the image's nonzero mask (the pixels nonzero in
    /// any channel, with the holes inside filled) and applied there; the pixels outside stay 0 (nnU-Net's
    /// `use_mask_for_norm`, planned for images with zero backgrounds such as skull-stripped MRI).
    public var insideNonzero: Bool?
    /// Per-channel bounds each value is clipped to before the mean and std are applied (both or neither).
    public var lower: [Float]?
    public var upper: [Float]?
    /// Whether values are taken in the format's units (multiplied back by 255 or 65535) before anything else.
    public var rawIntensities: Bool?

    public init(mean: [Float]? = nil, std: [Float]? = nil, perImage: Bool? = nil, insideNonzero: Bool? = nil, lower: [Float]? = nil,
                upper: [Float]? = nil, rawIntensities: Bool? = nil) {
        self.mean = mean
        self.std = std
        self.perImage = perImage
        self.insideNonzero = insideNonzero
        self.lower = lower
        self.upper = upper
        self.rawIntensities = rawIntensities
    }

    /// The first problem of these settings for a model of `channels` input channels, naming the field: per-channel
    /// lists of the wrong length, non-finite values, a std not positive, bounds given alone or crossed; nil if none.
    public func problem(channels: Int) -> String? {
        for (name, values) in [("mean", mean), ("std", std), ("lower", lower), ("upper", upper)] {
            guard let values else { continue }
            guard values.count == channels else { return "normalization \(name) has \(values.count) values for \(channels) input channel(s)" }
            guard values.allSatisfy({ $0.isFinite && abs($0) <= 1e9 }) else {
                return "normalization \(name) holds a non-finite value or one beyond ±1e9"
            }
        }
        if let std, !std.allSatisfy({ $0 > 0 }) { return "normalization std must be positive" }
        if (lower == nil) != (upper == nil) { return "normalization lower and upper come together" }
        if let lower, let upper, zip(lower, upper).contains(where: { $0 > $1 }) { return "normalization lower exceeds upper" }
        return nil
    }
}
