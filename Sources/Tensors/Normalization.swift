/// Input normalisation after pixels are divided by the format maximum (255 for 8-bit): nothing (milesial, the
/// course lab), `(x − mean[c]) / std[c]` per channel (ImageNet-style statistics), or each image's own per-channel
/// z-score `(x − mean) / max(std, 1e-8)` (`perImage`, nnU-Net's `ZScoreNormalization`). Datasets apply it; native model
/// files record it (`ModelMetadata`) so that prediction reproduces training.
public struct Normalization: Sendable, Equatable, Codable {
    public var mean: [Float]?
    public var std: [Float]?
    /// Each image normalised by its own per-channel mean and standard deviation (then `mean`/`std` are not used).
    public var perImage: Bool?

    public init(mean: [Float]? = nil, std: [Float]? = nil, perImage: Bool? = nil) {
        self.mean = mean
        self.std = std
        self.perImage = perImage
    }
}
