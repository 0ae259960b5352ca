/// What a pass over a dataset found: counts, sizes, channels, mask values and class balance.
public struct DatasetReport: Sendable, Encodable {
    public var samples = 0
    public var minimumSize: [Int] = []
    public var maximumSize: [Int] = []
    /// Channel counts of the images (alpha included), with how many images have each.
    public var imageChannels: [Int: Int] = [:]
    /// Distinct mask values (`[v]` or `[r, g, b]`) with their pixel counts.
    public var maskValues: [[Int]: Int] = [:]
    /// Pixels of each class after mapping, and ignored pixels.
    public var classPixels: [Int] = []
    public var ignoredPixels = 0
    public var classTable: [[Int]] = []

    mutating func addImage(width: Int, height: Int, channels: Int) {
        samples += 1
        let size = [width, height]
        minimumSize = minimumSize.isEmpty ? size : zip(minimumSize, size).map { min($0, $1) }
        maximumSize = maximumSize.isEmpty ? size : zip(maximumSize, size).map { max($0, $1) }
        imageChannels[channels, default: 0] += 1
    }
}
