import Models

/// A network and batch the planner considers: a classic U-Net of `base` width and `depth` down-samplings, trained on
/// batches of `batchSize` square inputs of side `side`.
public struct TrainingCandidate: Codable, Sendable, Hashable {
    public var base: Int
    public var depth: Int
    public var side: Int
    public var batchSize: Int
    public var inputChannels: Int
    public var classes: Int

    public init(base: Int, depth: Int, side: Int, batchSize: Int, inputChannels: Int, classes: Int) {
        self.base = base
        self.depth = depth
        self.side = side
        self.batchSize = batchSize
        self.inputChannels = inputChannels
        self.classes = classes
    }

    /// milesial's U-Net (transposed convolutions, same padding) of this width and depth.
    public var configuration: UNetConfiguration {
        .milesial(inputChannels: inputChannels, classes: classes, baseWidth: base, depth: depth)
    }

    /// The receptive field of a same-padded classic U-Net of `depth` down-samplings (two 3x3 convolutions per
    /// level, 2x2 pooling and up-sampling): `14 · 2^depth − 9` pixels.
    public static func receptiveField(depth: Int) -> Int { 14 * (1 << depth) - 9 }
}
