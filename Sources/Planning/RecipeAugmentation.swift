/// A recipe's random augmentation (`unet train`'s flags of the same names).
public struct RecipeAugmentation: Codable, Sendable, Equatable {
    /// The share of crops centred on a foreground pixel.
    public var foregroundCrops: Float = 0
    public var flips = false
    public var rotate90 = false
    /// ± degrees and ± fraction.
    public var rotation: Float = 0
    public var scale: Float = 0
    public var brightness: Float = 0
    public var contrast: Float = 0
    public var gamma: Float = 0

    public init() {}
}
