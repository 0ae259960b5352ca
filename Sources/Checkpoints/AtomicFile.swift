import Foundation

/// Writes files so that a crash never leaves a half-written one: the bytes go to a temporary file in the
/// same folder, which is flushed and then renamed over the destination.
public enum AtomicFile {
    /// Writes `data` to `path` atomically.
    /// - Throws: `CheckpointError` naming `path` when the folder cannot be written.
    public static func write(_ data: Data, to path: String) throws(CheckpointError) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data.write(to: temporary, options: [])
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.synchronize()
            try handle.close()
            if rename(temporary.path, url.path) != 0 {
                throw CocoaError(.fileWriteUnknown)
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw CheckpointError(path, "cannot write: \(Self.reason(error))")
        }
    }

    private static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
            let posix = POSIXErrorCode(rawValue: Int32(underlying.code))
        {
            return String(cString: strerror(posix.rawValue))
        }
        return nsError.localizedDescription
    }
}
