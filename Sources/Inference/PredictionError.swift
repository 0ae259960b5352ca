/// Why a prediction cannot run: the message names the option or file at fault.
public enum PredictionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A tile size the network cannot take.
    case invalidTile(String)
    /// An image whose channels the model cannot read.
    case channels(path: String, found: Int, expected: Int)
    /// An ensemble whose networks differ in architecture.
    case ensemble(String)
    /// An image of a batch whose size differs from the batch's first.
    case batchSizes(path: String, height: Int, width: Int, expectedHeight: Int, expectedWidth: Int)

    public var description: String {
        switch self {
        case .invalidTile(let reason): reason
        case .ensemble(let reason): "an ensemble of different networks: \(reason)"
        case .channels(let path, let found, let expected):
            "\(path): \(found) channels, but the model reads \(expected)"
        case .batchSizes(let path, let height, let width, let expectedHeight, let expectedWidth):
            "\(path): \(width)x\(height) in a batch of \(expectedWidth)x\(expectedHeight) images"
        }
    }
}
