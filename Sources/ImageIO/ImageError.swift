/// An image that cannot be read or written; the message names the file.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    /// The file concerned.
    public let path: String
    public let reason: String
    /// Whether the image was refused for declaring more pixels than `ImageReader.maximumPixels` (before any pixel
    /// was decoded), rather than for being unreadable.
    public let isAbovePixelLimit: Bool

    public init(_ path: String, _ reason: String, isAbovePixelLimit: Bool = false) {
        self.path = path
        self.reason = reason
        self.isAbovePixelLimit = isAbovePixelLimit
    }

    public var description: String { "\(path): \(reason)" }
}
