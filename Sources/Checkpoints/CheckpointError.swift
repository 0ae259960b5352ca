/// A checkpoint file that cannot be read or written. The message names the file and, where there is one,
/// the key: `model.pth: key 'outc.conv.weight': unsupported storage type torch.ComplexFloatStorage`.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    /// The file concerned.
    public let path: String
    /// What is wrong, naming the key where there is one.
    public let reason: String

    public init(_ path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
