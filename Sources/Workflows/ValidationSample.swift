import Datasets

/// A validation image as it was read (values in [0, 1], before normalization) and the classes the network predicts
/// for it, `(H, W)` row-major; for overlays in logs.
public struct ValidationSample: Sendable {
    /// The sample's image file.
    public let path: String
    public let image: SampleImage
    public let classes: [Int32]
}
