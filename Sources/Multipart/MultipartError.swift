/// A `multipart/form-data` body or content type that does not follow RFC 7578; one line.
public struct MultipartError: Error, CustomStringConvertible, Sendable, Equatable {
    public let reason: String

    public var description: String { "multipart body: \(reason)" }
}
