import Foundation

/// Writes files so that a crash never leaves a half-written one: the bytes go to a temporary file in the
/// same folder (`.<name>.<random>.tmp`), which is flushed to disk and then renamed over the destination. The
/// destination is replaced, never written through: a symbolic link there is replaced by the file, and its
/// target is left alone. A temporary file left by a killed process is removed by `removeStale(in:)`.
public enum AtomicFile {
    /// Writes `data` to `path` atomically.
    /// - Throws: `FileError` naming `path` with the system's reason (`No space left on device`, ...); the
    ///   temporary file is removed and the destination is left as it was.
    public static func write(_ data: Data, to path: String) throws(FileError) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = (folder as NSString).appendingPathComponent(
            ".\(url.lastPathComponent).\(UUID().uuidString)\(temporarySuffix)")
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileError(path, "cannot write: \(FileError.systemReason())") }
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == 0, fsync(descriptor) != 0 { failure = errno }
        if close(descriptor) != 0, failure == 0 { failure = errno }
        if failure == 0, rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw FileError(path, "cannot write: \(FileError.systemReason(failure))")
        }
    }

    /// Writes `text` as UTF-8 to `path` atomically (see `write(_:to:)`).
    public static func write(_ text: String, to path: String) throws(FileError) {
        try write(Data(text.utf8), to: path)
    }

    static let temporarySuffix = ".tmp"

    /// Whether `name` is the name of one of our temporary files: `.<name>.<UUID>.tmp`.
    public static func isTemporaryName(_ name: String) -> Bool {
        guard name.hasPrefix("."), name.hasSuffix(temporarySuffix) else { return false }
        let stem = name.dropLast(temporarySuffix.count)
        guard let dot = stem.lastIndex(of: "."), dot > stem.startIndex else { return false }
        return UUID(uuidString: String(stem[stem.index(after: dot)...])) != nil
    }

    /// Removes the temporary files a killed writer left in `folder` (only names `isTemporaryName` accepts).
    /// Call it only where no other process is writing, e.g. under a `DirectoryLock`.
    /// - Returns: the names removed.
    @discardableResult
    public static func removeStale(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter(isTemporaryName).filter { unlink((folder as NSString).appendingPathComponent($0)) == 0 }
    }
}
