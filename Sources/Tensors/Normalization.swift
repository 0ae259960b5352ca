/// Input normalisation after pixels are divided by the format maximum (255 for 8-bit): nothing (milesial, the
/// course lab), or `(x − mean[c]) / std[c]` per channel (ImageNet-style statistics). Datasets apply it; native model
/// files record it (`ModelMetadata`) so that prediction reproduces training.
public struct Normalization: Sendable, Equatable, Codable {
    public var mean: [Float]?
    public var std: [Float]?

    public init(mean: [Float]? = nil, std: [Float]? = nil) {
        self.mean = mean
        self.std = std
    }
}
