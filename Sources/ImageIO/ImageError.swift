/// An image that cannot be read or written; the message names the file.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    /// The file concerned.
    public let path: String
    public let reason: String

    public init(_ path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
