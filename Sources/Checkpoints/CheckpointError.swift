import Files

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

    /// A file that could not be read or written.
    public init(_ error: FileError) {
        self.init(error.path, error.reason)
    }

    public var description: String { "\(path): \(reason)" }

    /// `key` in quotes for a message, shortened to 120 characters and with control characters escaped: keys
    /// come from files and may be huge or hold line breaks.
    public static func quote(_ key: String) -> String {
        "'" + printable(key.prefix(120)) + (key.count > 120 ? "…'" : "'")
    }

    /// `text` with control characters (line breaks, escapes) written as Swift escapes, so a message stays one line.
    public static func printable(_ text: Substring) -> String { TextFile.printable(text) }
}
