/// A U-Net that cannot be built, run or loaded as asked. Messages are one line and name the key or option.
public enum UNetError: Error, CustomStringConvertible, Sendable {
    case invalidConfiguration(String)
    /// An input the network cannot take (wrong channels, too small).
    case invalidInput(String)
    /// A checkpoint whose tensors do not fit the architecture; the text names the keys.
    case incompatibleCheckpoint(String)
    /// What this machine cannot run (bf16 without the CPU's support); the text says why.
    case unsupported(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): "invalid U-Net configuration: \(reason)"
        case .invalidInput(let reason): "invalid input: \(reason)"
        case .incompatibleCheckpoint(let reason), .unsupported(let reason): reason
        }
    }
}
