import Foundation

/// A file that cannot be read, written or locked. The message names the file and says why in plain words:
/// `runs/x/metrics.jsonl: cannot write: No space left on device`.
public struct FileError: Error, CustomStringConvertible, Sendable {
    /// The file concerned.
    public let path: String
    /// What is wrong, in one line.
    public let reason: String

    public init(_ path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }

    /// The C library's text for an `errno` value (`No space left on device`).
    public static func systemReason(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// A plain sentence for a Foundation error: the system's reason when it carries a POSIX code (rather
    /// than Foundation's "The file “x” couldn’t be saved in the folder “y”."), else its description.
    public static func reason(of error: any Error) -> String {
        let nsError = error as NSError
        if nsError.domain == NSPOSIXErrorDomain { return systemReason(Int32(nsError.code)) }
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return systemReason(Int32(underlying.code))
        }
        return nsError.localizedDescription
    }
}
